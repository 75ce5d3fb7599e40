// Pure: the mask's edit history, as the traits of the same names hold it. `mask_edits`
// are applied in order on top of the base mask; `mask_redo` holds undone ops, most recent
// last. Undo and redo move one op between them, so both lists together always describe
// every edit the user made since the last reset.
import type { Op } from "./types";

export type History = { mask_edits: Op[]; mask_redo: Op[] };

/** A new edit: appended, and the redo list is dropped (it no longer follows from here). */
export function pushOp(history: History, op: Op): History {
  return { mask_edits: [...history.mask_edits, op], mask_redo: [] };
}

export function canUndo(history: History): boolean {
  return history.mask_edits.length > 0;
}

export function canRedo(history: History): boolean {
  return history.mask_redo.length > 0;
}

/** Move the last op to the redo list; unchanged (same object) when there is nothing to undo. */
export function undo(history: History): History {
  if (!canUndo(history)) return history;
  const last = history.mask_edits[history.mask_edits.length - 1];
  return { mask_edits: history.mask_edits.slice(0, -1), mask_redo: [...history.mask_redo, last] };
}

/** Move the most recently undone op back; unchanged when there is nothing to redo. */
export function redo(history: History): History {
  if (!canRedo(history)) return history;
  const next = history.mask_redo[history.mask_redo.length - 1];
  return { mask_edits: [...history.mask_edits, next], mask_redo: history.mask_redo.slice(0, -1) };
}

/** The ops after `prefix` when `ops` starts with it (same ops, same order), otherwise null. */
export function extraOps(prefix: readonly Op[], ops: readonly Op[]): Op[] | null {
  if (ops.length < prefix.length) return null;
  for (let i = 0; i < prefix.length; i++) {
    if (prefix[i] !== ops[i] && !sameOp(prefix[i], ops[i])) return null;
  }
  return ops.slice(prefix.length);
}

export function sameOp(a: Op, b: Op): boolean {
  if (a.op !== b.op) return false;
  if (a.op !== "stroke" || b.op !== "stroke") return true;
  if (a.mode !== b.mode || a.radius !== b.radius || a.points.length !== b.points.length) return false;
  return a.points.every((value, i) => value === b.points[i]);
}
