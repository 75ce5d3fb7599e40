// Pure: the selection tools' shapes, from pointer positions in source pixels to mask
// edits (js/README.md, "Mask edits"): rectangle and ellipse boxes, the lasso's
// freehand outline (thinned as strokes are), the polygon's clicked corners, colour
// select's point, and the mode a modifier key picks. No DOM here.
import type { Point } from "./geometry";
import { round2, simplify } from "./stroke";
import type { BoxOp, ColorOp, Mode, PolygonOp } from "./types";

/** Shift adds and Alt subtracts, whatever the toolbar's mode; otherwise the toolbar's mode. */
export function modeFor(base: Mode, keys: { shiftKey: boolean; altKey: boolean }): Mode {
  if (keys.altKey) return "erase";
  if (keys.shiftKey) return "paint";
  return base;
}

/** A rectangle or ellipse from a drag's two corners (any order), or null for a box under half a pixel. */
export function boxEdit(op: "rect" | "ellipse", a: Point, b: Point, mode: Mode): BoxOp | null {
  const box: [number, number, number, number] = [
    round2(Math.min(a[0], b[0])),
    round2(Math.min(a[1], b[1])),
    round2(Math.max(a[0], b[0])),
    round2(Math.max(a[1], b[1])),
  ];
  if (box[2] - box[0] < 0.5 || box[3] - box[1] < 0.5) return null;
  return { op, box, mode };
}

/** The area enclosed by a closed outline (shoelace), in square source pixels. */
export function polygonArea(points: Point[]): number {
  let twice = 0;
  for (let i = 0; i < points.length; i++) {
    const [x0, y0] = points[i];
    const [x1, y1] = points[(i + 1) % points.length];
    twice += x0 * y1 - x1 * y0;
  }
  return Math.abs(twice) / 2;
}

/** A closed outline as a polygon edit: rounded, repeats dropped; null under 3 corners or with no area. */
export function polygonEdit(points: Point[], mode: Mode): PolygonOp | null {
  const rounded = points.map(([x, y]): Point => [round2(x), round2(y)]);
  const unique = rounded.filter((p, i) => i === 0 || p[0] !== rounded[i - 1][0] || p[1] !== rounded[i - 1][1]);
  while (unique.length > 1 && unique[0][0] === unique[unique.length - 1][0] && unique[0][1] === unique[unique.length - 1][1]) unique.pop();
  if (unique.length < 3 || polygonArea(unique) < 0.25) return null;
  return { op: "polygon", points: unique.flat(), mode };
}

/** Colour select at a point: the pixel under it, with the tolerance and contiguity chosen. */
export function colorEdit(point: Point, tolerance: number, contiguous: boolean, mode: Mode): ColorOp {
  const t = Math.round(Math.min(255, Math.max(0, Number.isFinite(tolerance) ? tolerance : 32)));
  return { op: "color", point: [round2(point[0]), round2(point[1])], tolerance: t, contiguous, mode };
}

/**
 * The lasso: a freehand outline closed at the end. Positions closer than `minStep`
 * (source px) to the last kept one are skipped while dragging; at the end the outline
 * is simplified within `tolerance`, which moves its edge by far less than a pixel.
 */
export class LassoBuilder {
  readonly points: Point[] = [];

  constructor(
    private readonly minStep = 1,
    private readonly tolerance = 0.25,
  ) {}

  /** Offer a pointer position; true when it was kept (the live outline changes). */
  add(point: Point): boolean {
    const last = this.points[this.points.length - 1];
    if (last && Math.hypot(point[0] - last[0], point[1] - last[1]) < this.minStep) return false;
    this.points.push(point);
    return true;
  }

  build(mode: Mode): PolygonOp | null {
    if (this.points.length < 3) return null;
    // Closing the outline first lets simplification treat the last stretch like any other.
    const closed = simplify([...this.points, this.points[0]], this.tolerance);
    return polygonEdit(closed.slice(0, -1), mode);
  }
}

/** The polygon tool: corners clicked one by one; closed by double-click or Enter. */
export class PolygonBuilder {
  readonly points: Point[] = [];

  /** A corner (a click on the same spot as the last corner, as a double-click's second click makes, adds none). */
  add(point: Point, sameSpot = 0.5): void {
    const last = this.points[this.points.length - 1];
    if (last && Math.hypot(point[0] - last[0], point[1] - last[1]) < sameSpot) return;
    this.points.push(point);
  }

  /** Backspace: take back the last corner. */
  removeLast(): void {
    this.points.pop();
  }

  get canClose(): boolean {
    return this.points.length >= 3;
  }

  build(mode: Mode): PolygonOp | null {
    return this.canClose ? polygonEdit(this.points, mode) : null;
  }
}

/** An SVG path through `points`, closed or not (for the live outline). */
export function svgPath(points: Point[], closed: boolean): string {
  if (points.length === 0) return "";
  const parts = points.map(([x, y], i) => `${i === 0 ? "M" : "L"}${x.toFixed(2)} ${y.toFixed(2)}`);
  return parts.join(" ") + (closed ? " Z" : "");
}
