// What the panels of one view share: the model, the picture cache, the A/B picks, and
// `watch` (a subscription to traits that is undone with the view).
import type { Cleanups } from "../shared/dom";
import { type ImageCache } from "./images";
import { keepPicks, togglePick } from "./pairs";
import type { CellState, GridModel, ResultRef } from "./types";

/** The two results picked for the A/B view (this view's own choice, not synced). */
export class Picks {
  private ids: string[] = [];
  private listeners = new Set<() => void>();

  get(): string[] {
    return this.ids;
  }

  toggle(id: string): void {
    this.set(togglePick(this.ids, id));
  }

  set(ids: string[]): void {
    if (ids.length === this.ids.length && ids.every((id, i) => id === this.ids[i])) return;
    this.ids = ids;
    this.listeners.forEach((fn) => fn());
  }

  /** Drop picks whose results are gone. */
  retain(existing: ReadonlySet<string>): void {
    this.set(keepPicks(this.ids, existing));
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}

export type Context = {
  model: GridModel;
  images: ImageCache;
  root: HTMLElement;
  cleanups: Cleanups;
  picks: Picks;
  enlarge: (cell: number, repeat: number) => void;
};

export { watch } from "../shared/watch";

/** The cells in view, never undefined (a trait can be missing while Python starts). */
export function cellsOf(model: GridModel): CellState[] {
  const cells = model.get("cells");
  return Array.isArray(cells) ? cells.filter((c) => c && Array.isArray(c.slots)) : [];
}

/** Every result of the grid, in view or not. */
export function resultsOf(model: GridModel): ResultRef[] {
  const results = model.get("results");
  return Array.isArray(results) ? results.filter((r) => Array.isArray(r) && r.length === 3) : [];
}

/** Where each result of the grid is: its cell's index and its repeat (a big grid's `results` follow a run
 *  only once it ends; the cells in view have theirs meanwhile). */
export function resultIndex(model: GridModel): Map<string, { cell: number; repeat: number }> {
  const where = new Map(resultsOf(model).map(([id, cell, repeat]) => [id, { cell, repeat }]));
  for (const cell of cellsOf(model)) for (const slot of cell.slots) if (slot.result_id) where.set(slot.result_id, { cell: cell.index, repeat: slot.repeat });
  return where;
}

/** A cell's (page, row, column) labels from its index and the axes, in view or not. */
export function labelsOf(model: GridModel, index: number): [string, string, string] {
  const axes = model.get("axes");
  const [, rows, cols] = model.get("shape") ?? [1, 1, 1];
  const page = Math.floor(index / (rows * cols));
  const row = Math.floor((index % (rows * cols)) / cols);
  return [axes?.pages?.labels[page] ?? "", axes?.rows?.labels[row] ?? "", axes?.cols?.labels[index % cols] ?? ""];
}
