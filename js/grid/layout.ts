// Pure: sizes and small texts of the grid view.

export const THUMB_MIN = 56;
export const THUMB_MAX = 240;
/** The thumbnail sizes Python keeps; the browser asks for one of these (its cache key). */
export const THUMB_EDGES = [128, 256, 512, 768, 1536] as const;

/**
 * The CSS size of one thumbnail so that `cols` cells of `repeats` thumbnails fit in `width`
 * pixels beside a row label column: never below THUMB_MIN (the table scrolls instead) nor
 * above THUMB_MAX.
 */
// labelWidth: the row labels' 7em (grid.css) at 13px, their padding and the border spacing;
// cellPadding: a cell's padding and border (14px) and the border spacing beside it (6px).
export function thumbSize(width: number, cols: number, repeats: number, labelWidth = 118, gap = 6, cellPadding = 20): number {
  const columns = Math.max(1, cols);
  const perCell = (width - labelWidth) / columns - cellPadding;
  const each = (perCell - gap * (Math.max(1, repeats) - 1)) / Math.max(1, repeats);
  if (!Number.isFinite(each)) return THUMB_MIN;
  return Math.max(THUMB_MIN, Math.min(THUMB_MAX, Math.floor(each)));
}

/** The smallest kept edge that is sharp at `cssPixels` on a screen of `pixelRatio`. */
export function edgeFor(cssPixels: number, pixelRatio = 1): number {
  const want = cssPixels * Math.max(1, pixelRatio);
  return THUMB_EDGES.find((edge) => edge >= want) ?? THUMB_EDGES[THUMB_EDGES.length - 1];
}

/** 0.1234 -> "12.3 %" (null -> "–"). */
export function percent(fraction: number | null | undefined, digits = 1): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return "–";
  return `${(fraction * 100).toFixed(digits)} %`;
}

/** "low · owl" from a cell's (page, row, column) labels, skipping absent axes. */
export function cellName(labels: readonly string[]): string {
  return labels.filter(Boolean).join(" · ") || "the cell";
}

/** The index of cell (page, row, col) in Python's `cells` list. */
export function cellIndex(page: number, row: number, col: number, rows: number, cols: number): number {
  return (page * rows + row) * cols + col;
}

/** Wipe: `position` percent of the width shows A (left of the divider), the rest B, as a CSS clip for B on top. */
export function wipeClip(position: number): string {
  const p = Math.max(0, Math.min(100, position));
  return `inset(0 0 0 ${p}%)`;
}

/** Seconds since `startedAt` (epoch ms) to now, or to `finishedAt`, never negative. */
export function elapsed(startedAt: number | null, finishedAt: number | null, now: number): number | null {
  if (startedAt === null) return null;
  return Math.max(0, ((finishedAt ?? now) - startedAt) / 1000);
}

/** The first row (or column) in view after moving `step` windows of `size` from `start`, within `total` (window-aligned). */
export function moveWindow(start: number, size: number, total: number, step: number): number {
  const span = Math.max(1, size);
  const last = Math.max(0, Math.ceil(total / span) - 1) * span;
  return Math.max(0, Math.min(last, (Math.floor(start / span) + step) * span));
}

/** "rows 9–16 of 32" (what a window shows of an axis). */
export function windowText(noun: string, start: number, size: number, total: number): string {
  const end = Math.min(total, start + size);
  return `${noun} ${start + 1}–${end} of ${total}`;
}
