import { describe, expect, it } from "vitest";
import { shortcutFor, stepRadius } from "./shortcuts";
import { clampVariants } from "./controls";
import { changeOutsideText } from "./gallery";
import { elapsedSeconds } from "./progress";

const key = (k: string, mods: Partial<{ ctrlKey: boolean; metaKey: boolean; shiftKey: boolean; altKey: boolean }> = {}) => ({
  key: k,
  ctrlKey: false,
  metaKey: false,
  shiftKey: false,
  altKey: false,
  ...mods,
});

describe("keyboard shortcuts", () => {
  it("maps undo and both redo chords", () => {
    expect(shortcutFor(key("z", { ctrlKey: true }))).toEqual({ action: "undo" });
    expect(shortcutFor(key("z", { metaKey: true }))).toEqual({ action: "undo" });
    expect(shortcutFor(key("Z", { ctrlKey: true, shiftKey: true }))).toEqual({ action: "redo" });
    expect(shortcutFor(key("y", { ctrlKey: true }))).toEqual({ action: "redo" });
  });

  it("maps brackets to the brush size and ignores other keys", () => {
    expect(shortcutFor(key("["))).toEqual({ action: "smaller" });
    expect(shortcutFor(key("]"))).toEqual({ action: "bigger" });
    expect(shortcutFor(key("z"))).toBeNull();
    expect(shortcutFor(key("c", { ctrlKey: true }))).toBeNull();
    expect(shortcutFor(key("b", { ctrlKey: true }))).toBeNull();
    expect(shortcutFor(key("r", { altKey: true }))).toBeNull();
  });

  it("maps 0 to fit, 1 to 100 % and X to swapping paint and erase", () => {
    expect(shortcutFor(key("0"))).toEqual({ action: "fit" });
    expect(shortcutFor(key("1"))).toEqual({ action: "actual-size" });
    expect(shortcutFor(key("x"))).toEqual({ action: "swap-mode" });
  });

  it("picks the tools by letter, upper or lower case", () => {
    const tools = ["b", "r", "e", "l", "p", "w"].map((k) => shortcutFor(key(k)));
    expect(tools).toEqual(["brush", "rect", "ellipse", "lasso", "polygon", "color"].map((tool) => ({ action: "tool", tool })));
    expect(shortcutFor(key("R"))).toEqual({ action: "tool", tool: "rect" });
    expect(shortcutFor(key("R", { shiftKey: true }))).toBeNull(); // Shift is "add" while selecting
  });

  it("steps the radius by about 20 %, at least 1 px, within bounds", () => {
    expect(stepRadius(40, 1, 1, 500)).toBe(48);
    expect(stepRadius(40, -1, 1, 500)).toBe(33);
    expect(stepRadius(2, 1, 1, 500)).toBe(3);
    expect(stepRadius(1, -1, 1, 500)).toBe(1);
    expect(stepRadius(480, 1, 1, 500)).toBe(500);
  });
});

describe("controls helpers", () => {

  it("keeps variants within 1..8", () => {
    expect(clampVariants("3", 8)).toBe(3);
    expect(clampVariants(12, 8)).toBe(8);
    expect(clampVariants(0, 8)).toBe(1);
    expect(clampVariants("x", 8)).toBe(1);
  });
});

describe("progress and gallery text", () => {
  it("elapsed time runs from started_at to finished_at or now", () => {
    expect(elapsedSeconds({ started_at: null, finished_at: null }, 5000)).toBeNull();
    expect(elapsedSeconds({ started_at: 1000, finished_at: null }, 3500)).toBe(2.5);
    expect(elapsedSeconds({ started_at: 1000, finished_at: 2000 }, 9999)).toBe(1);
    expect(elapsedSeconds({ started_at: 5000, finished_at: null }, 4000)).toBe(0);
  });

  it("shows the change outside the mask for edits only", () => {
    expect(changeOutsideText({ endpoint: "edits", change_outside: 0.4321, kept_outside: false })).toBe("changed outside the mask: 0.4 %");
    expect(changeOutsideText({ endpoint: "edits", change_outside: null, kept_outside: false })).toBeNull();
    expect(changeOutsideText({ endpoint: "generations", change_outside: 3, kept_outside: false })).toBeNull();
  });
});
