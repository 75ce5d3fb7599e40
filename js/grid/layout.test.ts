import { describe, expect, it } from "vitest";
import { THUMB_MAX, THUMB_MIN, cellIndex, cellName, edgeFor, elapsed, moveWindow, percent, thumbSize, wipeClip, windowText } from "./layout";

describe("thumbnail sizes", () => {
  it("shares the width between columns and repeats", () => {
    // 1000 px: 118 for labels, 3 cells of 294 px, 20 of padding and spacing, 2 repeats with a 6 px gap
    expect(thumbSize(1000, 3, 2)).toBe(Math.floor((882 / 3 - 20 - 6) / 2));
  });

  it("never shrinks below the minimum nor grows past the maximum", () => {
    expect(thumbSize(600, 20, 4)).toBe(THUMB_MIN);
    expect(thumbSize(3000, 1, 1)).toBe(THUMB_MAX);
    expect(thumbSize(Number.NaN, 2, 2)).toBe(THUMB_MIN);
  });

  it("asks Python for the smallest kept size that is sharp on the screen", () => {
    expect(edgeFor(100)).toBe(128);
    expect(edgeFor(100, 2)).toBe(256);
    expect(edgeFor(240, 2)).toBe(512);
    expect(edgeFor(5000)).toBe(1536);
  });
});

describe("small texts and indexes", () => {
  it("formats fractions as percentages", () => {
    expect(percent(0.1234)).toBe("12.3 %");
    expect(percent(null)).toBe("–");
  });

  it("names a cell by its labels, skipping absent axes", () => {
    expect(cellName(["", "low", "owl"])).toBe("low · owl");
    expect(cellName(["", "", ""])).toBe("the cell");
  });

  it("finds a cell in Python's order: pages, then rows, then columns", () => {
    expect(cellIndex(0, 0, 0, 2, 3)).toBe(0);
    expect(cellIndex(0, 1, 2, 2, 3)).toBe(5);
    expect(cellIndex(1, 0, 1, 2, 3)).toBe(7);
  });

  it("clips the wipe's top image at the divider", () => {
    expect(wipeClip(30)).toBe("inset(0 0 0 30%)");
    expect(wipeClip(-5)).toBe("inset(0 0 0 0%)");
    expect(wipeClip(120)).toBe("inset(0 0 0 100%)");
  });

  it("counts elapsed seconds up to now or to the end", () => {
    expect(elapsed(1000, null, 3500)).toBe(2.5);
    expect(elapsed(1000, 2000, 9999)).toBe(1);
    expect(elapsed(null, null, 5)).toBeNull();
  });
});

describe("the window of a big grid", () => {
  it("moves a window at a time and stops at either end", () => {
    expect(moveWindow(0, 8, 32, 1)).toBe(8);
    expect(moveWindow(24, 8, 32, 1)).toBe(24);
    expect(moveWindow(8, 8, 32, -1)).toBe(0);
    expect(moveWindow(0, 8, 32, -1)).toBe(0);
    expect(moveWindow(0, 8, 20, 5)).toBe(16); // the last, shorter window
    expect(moveWindow(5, 8, 32, 1)).toBe(8); // a start Python did not align is aligned
  });

  it("says which rows are in view", () => {
    expect(windowText("rows", 8, 8, 32)).toBe("rows 9–16 of 32");
    expect(windowText("columns", 16, 8, 20)).toBe("columns 17–20 of 20");
  });
});
