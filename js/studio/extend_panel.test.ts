import { describe, expect, it } from "vitest";
import { extendMessage } from "./extend_panel";

const empty = { left: "", top: "", right: "", bottom: "", aspect: "", fill: "transparent", overlap: "16" };

describe("the extend message", () => {
  it("carries only the fields set", () => {
    expect(extendMessage({ ...empty, right: "512" })).toEqual({ type: "extend", right: 512, fill: "transparent", overlap: 16 });
    expect(extendMessage({ ...empty, aspect: "16:9", fill: "edge", overlap: "" })).toEqual({ type: "extend", aspect: "16:9", fill: "edge" });
  });

  it("sends whole pixels within Python's bounds and drops zero sides", () => {
    expect(extendMessage({ ...empty, left: "100.6", top: "0", bottom: "99999", overlap: "-3" })).toEqual({
      type: "extend",
      left: 101,
      bottom: 3840,
      fill: "transparent",
      overlap: 0,
    });
    expect(extendMessage({ ...empty, left: "abc" })).toEqual({ type: "extend", fill: "transparent", overlap: 16 });
  });
});
