import { describe, expect, it } from "vitest";
import type { Point } from "./geometry";
import { LassoBuilder, PolygonBuilder, boxEdit, colorEdit, modeFor, polygonArea, polygonEdit, svgPath } from "./shapes";

describe("the mode of a selection", () => {
  it("is the toolbar's, unless Shift adds or Alt subtracts", () => {
    expect(modeFor("paint", { shiftKey: false, altKey: false })).toBe("paint");
    expect(modeFor("erase", { shiftKey: false, altKey: false })).toBe("erase");
    expect(modeFor("erase", { shiftKey: true, altKey: false })).toBe("paint");
    expect(modeFor("paint", { shiftKey: false, altKey: true })).toBe("erase");
  });
});

describe("rectangles and ellipses", () => {
  it("take the drag's corners in any order, rounded to 0.01", () => {
    expect(boxEdit("rect", [120.456, 80.004], [20.1, 300.999], "paint")).toEqual({ op: "rect", box: [20.1, 80, 120.46, 301], mode: "paint" });
    expect(boxEdit("ellipse", [0, 0], [10, 20], "erase")).toEqual({ op: "ellipse", box: [0, 0, 10, 20], mode: "erase" });
  });

  it("are nothing for a click without a drag", () => {
    expect(boxEdit("rect", [5, 5], [5.2, 90], "paint")).toBeNull();
  });
});

describe("polygons", () => {
  it("need three corners and some area", () => {
    expect(polygonEdit([[0, 0], [10, 0]], "paint")).toBeNull();
    expect(polygonEdit([[0, 0], [10, 0], [20, 0]], "paint")).toBeNull(); // on a line
    expect(polygonEdit([[0, 0], [10, 0], [10, 10.005]], "paint")).toEqual({ op: "polygon", points: [0, 0, 10, 0, 10, 10.01], mode: "paint" });
  });

  it("drop repeated corners and a closing corner equal to the first", () => {
    expect(polygonEdit([[0, 0], [0, 0], [4, 0], [4, 4], [0, 0]], "erase")!.points).toEqual([0, 0, 4, 0, 4, 4]);
  });

  it("measure their area", () => {
    expect(polygonArea([[0, 0], [4, 0], [4, 3], [0, 3]])).toBe(12);
  });

  it("are built from clicks; Backspace takes the last corner back", () => {
    const polygon = new PolygonBuilder();
    polygon.add([0, 0]);
    polygon.add([10, 0]);
    polygon.add([10.1, 0.1]); // the second click of a double-click
    expect(polygon.canClose).toBe(false);
    polygon.add([10, 10]);
    polygon.add([0, 10]);
    polygon.removeLast();
    expect(polygon.build("paint")).toEqual({ op: "polygon", points: [0, 0, 10, 0, 10, 10], mode: "paint" });
  });
});

describe("the lasso", () => {
  it("thins a dense freehand circle but keeps its shape", () => {
    const lasso = new LassoBuilder(1, 0.25);
    const dense: Point[] = Array.from({ length: 2000 }, (_, i) => {
      const a = (i / 2000) * 2 * Math.PI;
      return [500 + 100 * Math.cos(a), 400 + 100 * Math.sin(a)];
    });
    for (const p of dense) lasso.add(p);
    expect(lasso.points.length).toBeLessThan(700);
    const op = lasso.build("paint")!;
    const corners: Point[] = [];
    for (let i = 0; i < op.points.length; i += 2) corners.push([op.points[i], op.points[i + 1]]);
    expect(corners.length).toBeLessThan(200);
    expect(corners.length).toBeGreaterThan(20);
    expect(polygonArea(corners) / (Math.PI * 100 * 100)).toBeGreaterThan(0.995);
    expect(op.points.every((v) => Math.round(v * 100) / 100 === v)).toBe(true);
  });

  it("is nothing for a click", () => {
    const lasso = new LassoBuilder();
    lasso.add([3, 3]);
    lasso.add([3.2, 3.1]);
    expect(lasso.build("paint")).toBeNull();
  });
});

describe("colour select and outlines", () => {
  it("sends the point and a whole tolerance within 0..255", () => {
    expect(colorEdit([10.123, 5], 300, true, "paint")).toEqual({ op: "color", point: [10.12, 5], tolerance: 255, contiguous: true, mode: "paint" });
    expect(colorEdit([0, 0], -4.2, false, "erase").tolerance).toBe(0);
    expect(colorEdit([0, 0], Number.NaN, false, "erase").tolerance).toBe(32);
  });

  it("draws the live outline as an SVG path", () => {
    expect(svgPath([[0, 0], [1.5, 2]], true)).toBe("M0.00 0.00 L1.50 2.00 Z");
    expect(svgPath([], false)).toBe("");
  });
});
