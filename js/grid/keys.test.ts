import { describe, expect, it } from "vitest";
import { ratingKey, windowKey } from "./keys";

const key = (k: string, mods: Partial<{ ctrlKey: boolean; metaKey: boolean; altKey: boolean }> = {}) => ({
  key: k,
  ctrlKey: false,
  metaKey: false,
  altKey: false,
  ...mods,
});

describe("rating keys", () => {
  it("maps left, right, tie and skip", () => {
    expect(ratingKey(key("ArrowLeft"))).toBe("a");
    expect(ratingKey(key("ArrowRight"))).toBe("b");
    expect(ratingKey(key("t"))).toBe("tie");
    expect(ratingKey(key("T"))).toBe("tie");
    expect(ratingKey(key("s"))).toBe("skip");
    expect(ratingKey(key("1"))).toBe("a");
    expect(ratingKey(key("2"))).toBe("b");
  });

  it("leaves other keys and every chord alone", () => {
    expect(ratingKey(key("x"))).toBeNull();
    expect(ratingKey(key(" "))).toBeNull(); // Space presses the focused button
    expect(ratingKey(key("Enter"))).toBeNull();
    expect(ratingKey(key("ArrowLeft", { altKey: true }))).toBeNull();
    expect(ratingKey(key("t", { ctrlKey: true }))).toBeNull();
    expect(ratingKey(key("ArrowRight", { metaKey: true }))).toBeNull();
  });
});

describe("window keys", () => {
  const page = (k: string, shiftKey = false, mods = {}) => ({ ...key(k, mods), shiftKey });

  it("pages the rows, and with Shift the columns", () => {
    expect(windowKey(page("PageDown"))).toEqual({ rows: 1, cols: 0 });
    expect(windowKey(page("PageUp"))).toEqual({ rows: -1, cols: 0 });
    expect(windowKey(page("PageDown", true))).toEqual({ rows: 0, cols: 1 });
    expect(windowKey(page("PageUp", true))).toEqual({ rows: 0, cols: -1 });
  });

  it("leaves other keys and chords alone", () => {
    expect(windowKey(page("ArrowDown"))).toBeNull();
    expect(windowKey(page("PageDown", false, { ctrlKey: true }))).toBeNull(); // the browser's tab switch
    expect(windowKey(page("PageUp", false, { altKey: true }))).toBeNull();
  });
});
