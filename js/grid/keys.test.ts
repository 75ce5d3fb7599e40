import { describe, expect, it } from "vitest";
import { ratingKey } from "./keys";

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
