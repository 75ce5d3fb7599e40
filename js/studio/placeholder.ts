// Pure: what a gallery entry's picture is while Python makes it. The history shows its
// entries before their previews (`preview` null: still being made), so each waits as a
// placeholder of the picture's own shape, drawn where the picture will be; an empty
// `preview` means it could not be made ("no preview").
import { asUint8 } from "../shared/bytes";
import type { Result } from "./types";

export type PreviewState = "pending" | "shown" | "none";

/** Whether `result`'s preview is still coming, here, or never coming. */
export function previewState(result: Pick<Result, "preview">): PreviewState {
  if (result.preview === null || result.preview === undefined) return "pending";
  return asUint8(result.preview) ? "shown" : "none";
}

/** `size` as a positive whole [width, height]; a square for anything else (a placeholder never fails). */
function shape(size: unknown): [number, number] {
  if (!Array.isArray(size) || size.length !== 2) return [1, 1];
  const [w, h] = size.map((v) => Math.round(Number(v)));
  return Number.isFinite(w) && Number.isFinite(h) && w > 0 && h > 0 ? [w, h] : [1, 1];
}

/**
 * An image URL of a soft grey rectangle shaped like a `size` (width, height) picture: shown in
 * the picture's <img>, it takes the very box the picture will (object-fit: contain), so
 * nothing moves when the picture comes.
 */
export function placeholderUrl(size: unknown): string {
  const [w, h] = shape(size);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">` +
    `<rect width="${w}" height="${h}" fill="#8884"/></svg>`;
  return `data:image/svg+xml,${encodeURIComponent(svg)}`;
}
