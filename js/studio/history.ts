// Pure: the mask's edit history. `ops` are applied in order on top of the base mask;
// `redo` holds undone ops, most recent last. Undo and redo move one op between them,
// so both lists together always describe every edit the user made since the last reset.
import type { Op } from "./types";

export type History = { ops: Op[]; redo: Op[] };

/** A new edit: appended, and the redo list is dropped (it no longer follows from here). */
export function pushOp(history: History, op: Op): History {
  return { ops: [...history.ops, op], redo: [] };
}

export function canUndo(history: History): boolean {
  return history.ops.length > 0;
}

export function canRedo(history: History): boolean {
  return history.redo.length > 0;
}

/** Move the last op to the redo list; unchanged (same object) when there is nothing to undo. */
export function undo(history: History): History {
  if (!canUndo(history)) return history;
  const last = history.ops[history.ops.length - 1];
  return { ops: history.ops.slice(0, -1), redo: [...history.redo, last] };
}

/** Move the most recently undone op back; unchanged when there is nothing to redo. */
export function redo(history: History): History {
  if (!canRedo(history)) return history;
  const next = history.redo[history.redo.length - 1];
  return { ops: [...history.ops, next], redo: history.redo.slice(0, -1) };
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
