import { describe, expect, it } from "vitest";
import { clientToSource, fitToBox, sourceToCanvasScale, sourceToClient, sourceToScreenScale } from "./geometry";

describe("fitToBox", () => {
  it("scales a large landscape image down to the box width", () => {
    const fit = fitToBox({ width: 3000, height: 2000 }, { width: 600, height: 600 });
    expect(fit.scale).toBeCloseTo(0.2);
    expect(fit.width).toBeCloseTo(600);
    expect(fit.height).toBeCloseTo(400);
  });

  it("is limited by the height for a tall image", () => {
    const fit = fitToBox({ width: 1000, height: 4000 }, { width: 800, height: 400 });
    expect(fit.height).toBeCloseTo(400);
    expect(fit.width).toBeCloseTo(100);
  });

  it("does not upscale unless asked", () => {
    expect(fitToBox({ width: 100, height: 50 }, { width: 800, height: 800 }).scale).toBe(1);
    const up = fitToBox({ width: 100, height: 50 }, { width: 800, height: 800 }, true);
    expect(up.scale).toBe(8);
    expect(up.width).toBe(800);
    expect(up.height).toBe(400);
  });

  it("gives an empty size for an empty image", () => {
    expect(fitToBox({ width: 0, height: 10 }, { width: 100, height: 100 })).toEqual({ width: 0, height: 0, scale: 1 });
  });
});

describe("clientToSource", () => {
  const rect = { left: 100, top: 50, width: 600, height: 400 };
  const source = { width: 3000, height: 2000 };

  it("maps the corners and the centre of the drawn image to source pixels", () => {
    expect(clientToSource(100, 50, rect, source)).toEqual([0, 0]);
    expect(clientToSource(700, 450, rect, source)).toEqual([3000, 2000]);
    expect(clientToSource(400, 250, rect, source)).toEqual([1500, 1000]);
  });

  it("keeps sub-pixel precision and does not clamp outside the image", () => {
    const [x, y] = clientToSource(100.5, 40, rect, source);
    expect(x).toBeCloseTo(2.5);
    expect(y).toBeCloseTo(-50);
  });

  it("is undone by sourceToClient", () => {
    const point = clientToSource(321.25, 123.75, rect, source);
    const [cx, cy] = sourceToClient(point, rect, source);
    expect(cx).toBeCloseTo(321.25, 9);
    expect(cy).toBeCloseTo(123.75, 9);
  });

  it("returns the origin for an element with no size (not NaN)", () => {
    expect(clientToSource(10, 10, { left: 0, top: 0, width: 0, height: 0 }, source)).toEqual([0, 0]);
  });
});

describe("source <-> canvas scale", () => {
  it("is canvas over source along each axis", () => {
    const scale = sourceToCanvasScale({ width: 4096, height: 2048 }, { width: 2048, height: 1024 });
    expect(scale).toEqual({ x: 0.5, y: 0.5, mean: 0.5 });
  });

  it("keeps each axis's own rounding", () => {
    const scale = sourceToCanvasScale({ width: 3000, height: 2001 }, { width: 2048, height: 1366 });
    expect(scale.x).toBeCloseTo(2048 / 3000, 12);
    expect(scale.y).toBeCloseTo(1366 / 2001, 12);
    expect(scale.mean).toBeCloseTo((scale.x + scale.y) / 2, 12);
  });

  it("screen scale is CSS pixels per source pixel", () => {
    expect(sourceToScreenScale({ width: 2000, height: 1000 }, { left: 0, top: 0, width: 500, height: 250 })).toBe(0.25);
  });
});
