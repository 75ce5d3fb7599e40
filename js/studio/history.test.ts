import { describe, expect, it } from "vitest";
import { canRedo, canUndo, extraOps, pushOp, redo, undo, type History } from "./history";
import type { Op } from "./types";

const stroke = (x: number): Op => ({ op: "stroke", points: [x, x], radius: 5, mode: "paint" });
const empty: History = { mask_edits: [], mask_redo: [] };

describe("history", () => {
  it("appends a new op and drops the redo list", () => {
    const state: History = { mask_edits: [stroke(1)], mask_redo: [stroke(2)] };
    const next = pushOp(state, { op: "invert" });
    expect(next.mask_edits).toEqual([stroke(1), { op: "invert" }]);
    expect(next.mask_redo).toEqual([]);
    expect(state.mask_edits).toHaveLength(1); // not mutated
  });

  it("undo moves the last op to redo; redo moves it back", () => {
    let state = pushOp(pushOp(pushOp(empty, stroke(1)), stroke(2)), { op: "clear" });
    state = undo(state);
    expect(state.mask_edits).toEqual([stroke(1), stroke(2)]);
    expect(state.mask_redo).toEqual([{ op: "clear" }]);
    state = undo(state);
    expect(state.mask_edits).toEqual([stroke(1)]);
    expect(state.mask_redo).toEqual([{ op: "clear" }, stroke(2)]); // most recent last
    state = redo(state);
    expect(state.mask_edits).toEqual([stroke(1), stroke(2)]);
    expect(state.mask_redo).toEqual([{ op: "clear" }]);
    state = redo(state);
    expect(state).toEqual({ mask_edits: [stroke(1), stroke(2), { op: "clear" }], mask_redo: [] });
  });

  it("a new op after an undo makes redo impossible", () => {
    const state = pushOp(undo(pushOp(pushOp(empty, stroke(1)), stroke(2))), stroke(3));
    expect(state.mask_edits).toEqual([stroke(1), stroke(3)]);
    expect(canRedo(state)).toBe(false);
  });

  it("undo and redo with nothing to move return the same object", () => {
    expect(undo(empty)).toBe(empty);
    expect(redo(empty)).toBe(empty);
    expect(canUndo(empty)).toBe(false);
  });
});

describe("extraOps", () => {
  it("returns the ops appended after a prefix, compared by value", () => {
    const a = [stroke(1), { op: "invert" } as Op];
    const b = [stroke(1), { op: "invert" } as Op, stroke(7)];
    expect(extraOps(a, b)).toEqual([stroke(7)]);
    expect(extraOps(a, a.slice())).toEqual([]);
  });

  it("returns null when ops shrank or an earlier op differs", () => {
    expect(extraOps([stroke(1), stroke(2)], [stroke(1)])).toBeNull();
    expect(extraOps([stroke(1)], [stroke(2), stroke(3)])).toBeNull();
    const erased: Op = { op: "stroke", points: [1, 1], radius: 5, mode: "erase" };
    expect(extraOps([stroke(1)], [erased])).toBeNull();
  });
});
