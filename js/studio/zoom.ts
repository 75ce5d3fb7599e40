// Pure: the zoom and pan of the mask stage. The stage is the source at one CSS pixel
// per source pixel, shown in the viewport through `translate(x, y) scale(zoom)`, so
// `zoom` is CSS pixels per source pixel (1 = 100 %) and (x, y) is where the source's
// origin lies in the viewport. No DOM here.
import type { Point, Size } from "./geometry";

export type View = { zoom: number; x: number; y: number };

/** The closest zoom: one source pixel = 8 CSS pixels. */
export const MAX_ZOOM = 8;
/** How far below the fitting zoom one may go (and at least down to 10 %). */
const BELOW_FIT = 0.5;
const MIN_ZOOM_FLOOR = 0.1;

/** The zoom at which the whole source fits in the viewport. */
export function fitZoom(source: Size, viewport: Size): number {
  if (source.width <= 0 || source.height <= 0 || viewport.width <= 0 || viewport.height <= 0) return 1;
  return Math.min(viewport.width / source.width, viewport.height / source.height);
}

/** The zoom range: from half the fitting zoom (and at least 10 %) up to 800 %. */
export function zoomRange(source: Size, viewport: Size): { min: number; max: number } {
  const fit = fitZoom(source, viewport);
  return { min: Math.min(fit * BELOW_FIT, MIN_ZOOM_FLOOR), max: Math.max(MAX_ZOOM, fit) };
}

/**
 * Keep the source where it can be seen: along an axis where it is smaller than the
 * viewport it is centred, otherwise it covers the viewport (no empty margin).
 */
export function clampView(view: View, source: Size, viewport: Size): View {
  const { min, max } = zoomRange(source, viewport);
  const zoom = Math.min(max, Math.max(min, view.zoom));
  const axis = (offset: number, length: number, room: number) => {
    const shown = length * zoom;
    if (shown <= room) return (room - shown) / 2;
    return Math.min(0, Math.max(room - shown, offset));
  };
  return { zoom, x: axis(view.x, source.width, viewport.width), y: axis(view.y, source.height, viewport.height) };
}

/** The whole source, centred. */
export function fitView(source: Size, viewport: Size): View {
  return clampView({ zoom: fitZoom(source, viewport), x: 0, y: 0 }, source, viewport);
}

/** Zoom to `zoom` keeping the source point under `at` (viewport coordinates) where it is. */
export function zoomAt(view: View, zoom: number, at: Point, source: Size, viewport: Size): View {
  const { min, max } = zoomRange(source, viewport);
  const next = Math.min(max, Math.max(min, zoom));
  const k = next / view.zoom;
  return clampView({ zoom: next, x: at[0] - (at[0] - view.x) * k, y: at[1] - (at[1] - view.y) * k }, source, viewport);
}

/** 100 % (one source pixel per CSS pixel) around the viewport's centre. */
export function actualSizeView(view: View, source: Size, viewport: Size): View {
  return zoomAt(view, 1, [viewport.width / 2, viewport.height / 2], source, viewport);
}

/** Move by (dx, dy) CSS pixels. */
export function panBy(view: View, dx: number, dy: number, source: Size, viewport: Size): View {
  return clampView({ zoom: view.zoom, x: view.x + dx, y: view.y + dy }, source, viewport);
}

/**
 * The zoom factor of one wheel event (Ctrl/Cmd+wheel; a trackpad pinch arrives as
 * ctrl+wheel with small deltas). A mouse notch (100 px) zooms by about 22 %.
 * `deltaMode` 1 counts lines, 2 pages.
 */
export function wheelFactor(deltaY: number, deltaMode = 0): number {
  const pixels = deltaY * (deltaMode === 1 ? 16 : deltaMode === 2 ? 400 : 1);
  const clamped = Math.max(-100, Math.min(100, pixels));
  return Math.exp(-clamped * 0.002);
}

/** The part of the source shown in the viewport, in source pixels [x0, y0, x1, y1], within the source. */
export function visibleBox(view: View, source: Size, viewport: Size): [number, number, number, number] {
  const x0 = Math.max(0, -view.x / view.zoom);
  const y0 = Math.max(0, -view.y / view.zoom);
  const x1 = Math.min(source.width, (viewport.width - view.x) / view.zoom);
  const y1 = Math.min(source.height, (viewport.height - view.y) / view.zoom);
  return [x0, y0, Math.max(x0, x1), Math.max(y0, y1)];
}

/** The most device pixels a `view` request may ask for along each edge (Python's limit). */
export const MAX_VIEW_EDGE = 4096;

/**
 * The `view` message for what is shown, or null when the canvas image is already as
 * sharp as the screen (its pixels per source pixel at least the device pixels per
 * source pixel). `canvasScale` is canvas_size / source size.
 */
export function viewRequest(
  view: View,
  source: Size,
  viewport: Size,
  canvasScale: number,
  devicePixelRatio: number,
): { box: [number, number, number, number]; width: number; height: number } | null {
  const devicePerSource = view.zoom * devicePixelRatio;
  if (devicePerSource <= canvasScale * 1.01) return null;
  const [x0, y0, x1, y1] = visibleBox(view, source, viewport);
  if (x1 - x0 < 1 || y1 - y0 < 1) return null;
  const box: [number, number, number, number] = [Math.floor(x0), Math.floor(y0), Math.ceil(x1), Math.ceil(y1)];
  let width = (box[2] - box[0]) * devicePerSource;
  let height = (box[3] - box[1]) * devicePerSource;
  const shrink = Math.min(1, MAX_VIEW_EDGE / width, MAX_VIEW_EDGE / height);
  width = Math.max(1, Math.min(MAX_VIEW_EDGE, Math.round(width * shrink)));
  height = Math.max(1, Math.min(MAX_VIEW_EDGE, Math.round(height * shrink)));
  return { box, width, height };
}

/** The zoom readout: percent of CSS pixels per source pixel, "35 %" or "800 %". */
export function zoomText(zoom: number): string {
  const percent = zoom * 100;
  return `${percent < 10 ? percent.toFixed(1) : Math.round(percent)} %`;
}
