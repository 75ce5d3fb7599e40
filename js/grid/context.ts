// What the panels of one view share: the model, the picture cache, the A/B picks, and
// `watch` (a subscription to traits that is undone with the view).
import type { Cleanups } from "../shared/dom";
import { type ImageCache } from "./images";
import { keepPicks, togglePick } from "./pairs";
import type { CellState, GridModel, SlotState } from "./types";

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

/** The cells, never undefined (a trait can be missing while Python starts). */
export function cellsOf(model: GridModel): CellState[] {
  const cells = model.get("cells");
  return Array.isArray(cells) ? cells.filter((c) => c && Array.isArray(c.slots)) : [];
}

/** Where each result is: its cell and slot. */
export function resultIndex(cells: readonly CellState[]): Map<string, { cell: CellState; slot: SlotState }> {
  const where = new Map<string, { cell: CellState; slot: SlotState }>();
  for (const cell of cells) for (const slot of cell.slots) if (slot.result_id) where.set(slot.result_id, { cell, slot });
  return where;
}
