// Pure: turning the pointer positions of one drag into a stroke op. Positions come in
// at the pointer's rate (hundreds per second with a pen); most are redundant. They are
// thinned twice: while drawing, a point closer than `minStep` to the last kept one is
// skipped; at the end, Ramer-Douglas-Peucker drops points that lie within `tolerance`
// of the line through their neighbours. Both bounds are a small fraction of the brush
// radius, so the painted area moves by far less than a pixel.
import type { Point } from "./geometry";
import type { Mode, StrokeOp } from "./types";

/** Round to 0.01 (what the contract sends), without producing -0. */
export function round2(value: number): number {
  const rounded = Math.round(value * 100) / 100;
  return rounded === 0 ? 0 : rounded;
}

/** Distance from `p` to the segment `a`-`b`. */
export function distanceToSegment(p: Point, a: Point, b: Point): number {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const length2 = dx * dx + dy * dy;
  let t = length2 > 0 ? ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / length2 : 0;
  t = Math.max(0, Math.min(1, t));
  return Math.hypot(p[0] - (a[0] + t * dx), p[1] - (a[1] + t * dy));
}

/** Ramer-Douglas-Peucker, iterative (a long stroke must not overflow the stack). Keeps both ends. */
export function simplify(points: Point[], tolerance: number): Point[] {
  if (points.length <= 2) return points.slice();
  const keep = new Uint8Array(points.length);
  keep[0] = keep[points.length - 1] = 1;
  const stack: Array<[number, number]> = [[0, points.length - 1]];
  while (stack.length) {
    const [first, last] = stack.pop()!;
    let worst = -1;
    let worstDistance = tolerance;
    for (let i = first + 1; i < last; i++) {
      const d = distanceToSegment(points[i], points[first], points[last]);
      if (d > worstDistance) {
        worstDistance = d;
        worst = i;
      }
    }
    if (worst >= 0) {
      keep[worst] = 1;
      stack.push([first, worst], [worst, last]);
    }
  }
  return points.filter((_, i) => keep[i]);
}

/** The thinning bounds for a brush of `radius` source pixels. */
export function thinningFor(radius: number): { minStep: number; tolerance: number } {
  return {
    minStep: Math.min(Math.max(radius * 0.1, 0.25), 2),
    tolerance: Math.min(Math.max(radius * 0.02, 0.05), 0.5),
  };
}

/** Collects one drag's points (source pixels) and builds the stroke op at the end. */
export class StrokeBuilder {
  readonly points: Point[] = [];
  private pending: Point | null = null;
  private readonly minStep: number;
  private readonly tolerance: number;

  constructor(
    readonly radius: number,
    readonly mode: Mode,
    bounds = thinningFor(radius),
  ) {
    this.minStep = bounds.minStep;
    this.tolerance = bounds.tolerance;
  }

  /**
   * Offer a pointer position. Returns the segment to draw live ([from, to]; from === to
   * for the first point), or null when the point was too close to the last kept one.
   */
  add(point: Point): [Point, Point] | null {
    const last = this.points[this.points.length - 1];
    if (!last) {
      this.points.push(point);
      return [point, point];
    }
    if (Math.hypot(point[0] - last[0], point[1] - last[1]) < this.minStep) {
      this.pending = point; // kept aside: the drag may end here
      return null;
    }
    this.pending = null;
    this.points.push(point);
    return [last, point];
  }

  /** The segment still to draw so the stroke ends exactly where the pointer left, if any. */
  flush(): [Point, Point] | null {
    if (!this.pending) return null;
    const last = this.points[this.points.length - 1];
    const point = this.pending;
    this.pending = null;
    if (last[0] === point[0] && last[1] === point[1]) return null;
    this.points.push(point);
    return [last, point];
  }

  /** The edit to send (`mask_edit`), or null when nothing was drawn. */
  build(): StrokeOp | null {
    this.flush();
    if (this.points.length === 0) return null;
    const rounded = simplify(this.points, this.tolerance).map(([x, y]): Point => [round2(x), round2(y)]);
    // Rounding can make neighbours equal; repeated points add nothing.
    const unique = rounded.filter((p, i) => i === 0 || p[0] !== rounded[i - 1][0] || p[1] !== rounded[i - 1][1]);
    return { op: "stroke", points: unique.flat(), radius: round2(this.radius), mode: this.mode };
  }
}
