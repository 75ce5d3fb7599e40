// Pure geometry: where a pointer lands in source pixels, how big the canvas is shown,
// and how source pixels map onto the display-sized canvas. No DOM access here.

export type Size = { width: number; height: number };
export type Rect = { left: number; top: number; width: number; height: number };
export type Point = [number, number];

/** The largest size with the aspect of `content` that fits in `box`; never upscaled unless asked. */
export function fitToBox(content: Size, box: Size, upscale = false): Size & { scale: number } {
  if (content.width <= 0 || content.height <= 0) return { width: 0, height: 0, scale: 1 };
  let scale = Math.min(box.width / content.width, box.height / content.height);
  if (!upscale) scale = Math.min(scale, 1);
  scale = Math.max(scale, 0);
  return { width: content.width * scale, height: content.height * scale, scale };
}

/**
 * A pointer position (client coordinates) to source pixels, given where the image is
 * drawn on screen. The image fills `rect` exactly, so the mapping is a plain affine one;
 * positions outside the image are not clamped (a stroke may run off the edge).
 */
export function clientToSource(clientX: number, clientY: number, rect: Rect, source: Size): Point {
  if (rect.width <= 0 || rect.height <= 0) return [0, 0];
  return [
    ((clientX - rect.left) / rect.width) * source.width,
    ((clientY - rect.top) / rect.height) * source.height,
  ];
}

/** Source pixels back to client coordinates (for the brush cursor). */
export function sourceToClient(point: Point, rect: Rect, source: Size): Point {
  return [
    rect.left + (point[0] / source.width) * rect.width,
    rect.top + (point[1] / source.height) * rect.height,
  ];
}

/**
 * The scale from source pixels to canvas pixels along each axis. Python makes the
 * canvas by rounding each edge, so the two can differ by a hair; points use their own
 * axis and a brush width uses the mean.
 */
export function sourceToCanvasScale(source: Size, canvas: Size): { x: number; y: number; mean: number } {
  if (source.width <= 0 || source.height <= 0) return { x: 1, y: 1, mean: 1 };
  const x = canvas.width / source.width;
  const y = canvas.height / source.height;
  return { x, y, mean: (x + y) / 2 };
}

/** How many CSS pixels one source pixel takes on screen (for the brush cursor's size). */
export function sourceToScreenScale(source: Size, rect: Rect): number {
  return source.width > 0 ? rect.width / source.width : 1;
}
