import { describe, expect, it } from "vitest";
import { actualSizeView, clampView, fitView, fitZoom, panBy, viewRequest, visibleBox, wheelFactor, zoomAt, zoomRange, zoomText } from "./zoom";

const source = { width: 3840, height: 2160 };
const viewport = { width: 960, height: 540 };

describe("fitting and the zoom range", () => {
  it("fits the whole source, centred", () => {
    expect(fitZoom(source, viewport)).toBe(0.25);
    expect(fitView(source, { width: 960, height: 740 })).toEqual({ zoom: 0.25, x: 0, y: 100 });
  });

  it("goes from below fit (at least down to 10 %) up to 800 %", () => {
    expect(zoomRange(source, viewport)).toEqual({ min: 0.1, max: 8 });
    expect(zoomRange({ width: 100, height: 100 }, viewport).min).toBe(0.1);
    expect(zoomRange({ width: 100000, height: 100 }, viewport).min).toBeCloseTo(0.0048);
  });
});

describe("zooming around the pointer", () => {
  it("keeps the source point under the pointer in place", () => {
    const start = fitView(source, viewport);
    const at: [number, number] = [300, 200];
    const before = [(at[0] - start.x) / start.zoom, (at[1] - start.y) / start.zoom];
    const next = zoomAt(start, 4, at, source, viewport);
    expect(next.zoom).toBe(4);
    expect((at[0] - next.x) / next.zoom).toBeCloseTo(before[0], 9);
    expect((at[1] - next.y) / next.zoom).toBeCloseTo(before[1], 9);
  });

  it("stops at 800 % and at the lower bound", () => {
    const start = fitView(source, viewport);
    expect(zoomAt(start, 50, [0, 0], source, viewport).zoom).toBe(8);
    expect(zoomAt(start, 0.001, [0, 0], source, viewport).zoom).toBe(0.1);
  });

  it("shows 100 % around the viewport's centre", () => {
    const view = actualSizeView(fitView(source, viewport), source, viewport);
    expect(view.zoom).toBe(1);
    expect(visibleBox(view, source, viewport)).toEqual([1440, 810, 2400, 1350]);
  });

  it("a mouse notch zooms by about a fifth, a pinch's small steps by little", () => {
    expect(wheelFactor(-100)).toBeCloseTo(1.2214, 3);
    expect(wheelFactor(100)).toBeCloseTo(1 / 1.2214, 3);
    expect(wheelFactor(-1000)).toBe(wheelFactor(-100));
    expect(wheelFactor(-3)).toBeCloseTo(1.006, 3);
    expect(wheelFactor(-3, 1)).toBeCloseTo(Math.exp(0.096), 6);
  });
});

describe("panning", () => {
  it("moves the zoomed source but never leaves an empty margin", () => {
    const view = { zoom: 1, x: -1000, y: -500 };
    expect(panBy(view, 100, -50, source, viewport)).toEqual({ zoom: 1, x: -900, y: -550 });
    expect(panBy(view, 5000, 5000, source, viewport)).toEqual({ zoom: 1, x: 0, y: 0 });
    expect(panBy(view, -1e6, -1e6, source, viewport)).toEqual({ zoom: 1, x: 960 - 3840, y: 540 - 2160 });
  });

  it("centres a source smaller than the viewport", () => {
    expect(clampView({ zoom: 0.1, x: -50, y: 999 }, source, viewport)).toEqual({ zoom: 0.1, x: 288, y: 162 });
  });
});

describe("asking for the sharp view", () => {
  const canvasScale = 2048 / 3840;

  it("asks nothing while the canvas image is sharp enough", () => {
    expect(viewRequest(fitView(source, viewport), source, viewport, canvasScale, 1)).toBeNull();
    expect(viewRequest({ zoom: 0.5, x: 0, y: 0 }, source, viewport, canvasScale, 1)).toBeNull();
  });

  it("asks for the visible box at the device pixels it covers", () => {
    const view = { zoom: 4, x: -4000, y: -2000 };
    expect(viewRequest(view, source, viewport, canvasScale, 1)).toEqual({ box: [1000, 500, 1240, 635], width: 960, height: 540 });
    expect(viewRequest(view, source, viewport, canvasScale, 2)).toEqual({ box: [1000, 500, 1240, 635], width: 1920, height: 1080 });
  });

  it("clamps the box to the source and the size to 4096", () => {
    const wide = { width: 5000, height: 3000 };
    const request = viewRequest({ zoom: 1, x: 0, y: 0 }, source, wide, canvasScale, 2)!;
    expect(request.box).toEqual([0, 0, 3840, 2160]);
    expect(request.width).toBe(4096);
    expect(request.height).toBe(Math.round(2160 * 2 * (4096 / 7680)));
  });

  it("reads out the zoom in percent", () => {
    expect(zoomText(0.254)).toBe("25 %");
    expect(zoomText(8)).toBe("800 %");
    expect(zoomText(0.05)).toBe("5.0 %");
  });
});
