import { describe, expect, it } from "vitest";
import type { Point } from "./geometry";
import { StrokeBuilder, distanceToSegment, round2, simplify, thinningFor } from "./stroke";

/** Largest distance from any of `dense` to the polyline `poly`. */
function deviation(dense: Point[], poly: Point[]): number {
  let worst = 0;
  for (const p of dense) {
    let best = Infinity;
    if (poly.length === 1) best = Math.hypot(p[0] - poly[0][0], p[1] - poly[0][1]);
    for (let i = 0; i + 1 < poly.length; i++) best = Math.min(best, distanceToSegment(p, poly[i], poly[i + 1]));
    worst = Math.max(worst, best);
  }
  return worst;
}

function pairs(flat: number[]): Point[] {
  const out: Point[] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i], flat[i + 1]]);
  return out;
}

describe("round2", () => {
  it("rounds to 0.01 and never gives -0", () => {
    expect(round2(1.23456)).toBe(1.23);
    expect(round2(1.235001)).toBe(1.24);
    expect(round2(-0.001)).toBe(0);
    expect(Object.is(round2(-0.001), -0)).toBe(false);
  });
});

describe("simplify", () => {
  it("drops points on a straight line but keeps both ends", () => {
    const line: Point[] = Array.from({ length: 50 }, (_, i) => [i, 2 * i]);
    expect(simplify(line, 0.1)).toEqual([[0, 0], [49, 98]]);
  });

  it("keeps the corner of an L", () => {
    const l: Point[] = [[0, 0], [5, 0], [10, 0], [10, 5], [10, 10]];
    expect(simplify(l, 0.1)).toEqual([[0, 0], [10, 0], [10, 10]]);
  });

  it("keeps a circle within the tolerance", () => {
    const circle: Point[] = Array.from({ length: 400 }, (_, i) => [100 + 50 * Math.cos(i / 60), 100 + 50 * Math.sin(i / 60)]);
    const simple = simplify(circle, 0.25);
    expect(simple.length).toBeLessThan(circle.length / 4);
    expect(deviation(circle, simple)).toBeLessThanOrEqual(0.25 + 1e-9);
  });

  it("keeps every point of a long jagged stroke", () => {
    const zigzag: Point[] = Array.from({ length: 5_000 }, (_, i) => [i, i % 2]);
    expect(simplify(zigzag, 0.1)).toHaveLength(5_000);
  });
});

describe("StrokeBuilder", () => {
  it("a single click is a one-point stroke (a disc)", () => {
    const builder = new StrokeBuilder(12.345, "paint");
    expect(builder.add([10.004, 20.006])).toEqual([[10.004, 20.006], [10.004, 20.006]]);
    expect(builder.build()).toEqual({ op: "stroke", points: [10, 20.01], radius: 12.35, mode: "paint" });
  });

  it("skips points closer than minStep while drawing, but ends where the pointer left", () => {
    const builder = new StrokeBuilder(10, "erase", { minStep: 1, tolerance: 0.01 });
    builder.add([0, 0]);
    expect(builder.add([0.3, 0])).toBeNull();
    expect(builder.add([5, 0])).toEqual([[0, 0], [5, 0]]);
    expect(builder.add([5.5, 0.5])).toBeNull();
    const op = builder.build()!;
    expect(op.mode).toBe("erase");
    expect(op.points.slice(-2)).toEqual([5.5, 0.5]);
  });

  it("keeps the shape of a dense freehand stroke within the tolerance, with far fewer points", () => {
    const radius = 20;
    const builder = new StrokeBuilder(radius, "paint");
    const dense: Point[] = Array.from({ length: 1000 }, (_, i) => [i * 0.5, 100 + 40 * Math.sin(i / 80)]);
    for (const p of dense) builder.add(p);
    const op = builder.build()!;
    const kept = pairs(op.points);
    expect(kept.length).toBeLessThan(dense.length / 5);
    expect(kept[0]).toEqual([0, 100]);
    // thinning + rounding to 0.01 moves the centre line by at most tolerance + minStep + 0.01
    const { tolerance, minStep } = thinningFor(radius);
    expect(deviation(dense, kept)).toBeLessThanOrEqual(tolerance + minStep + 0.01);
    for (const value of op.points) expect(Math.round(value * 100) / 100).toBe(value);
  });

  it("drops repeated points created by rounding", () => {
    const builder = new StrokeBuilder(1, "paint", { minStep: 0, tolerance: 0 });
    builder.add([1, 1]);
    builder.add([1.001, 1.001]);
    builder.add([3, 3.5]);
    expect(builder.build()!.points).toEqual([1, 1, 3, 3.5]);
  });

  it("builds nothing without points", () => {
    expect(new StrokeBuilder(5, "paint").build()).toBeNull();
  });
});
