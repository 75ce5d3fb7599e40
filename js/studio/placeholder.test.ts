import { describe, expect, it } from "vitest";
import { placeholderUrl, previewState } from "./placeholder";

function svgOf(url: string): string {
  expect(url.startsWith("data:image/svg+xml,")).toBe(true);
  return decodeURIComponent(url.slice("data:image/svg+xml,".length));
}

describe("a gallery entry's picture", () => {
  it("is coming while Python sends no preview, here with bytes, and never with empty bytes", () => {
    expect(previewState({ preview: null })).toBe("pending");
    expect(previewState({ preview: undefined })).toBe("pending");
    expect(previewState({ preview: new DataView(new Uint8Array([0xff, 0xd8, 0xff]).buffer) })).toBe("shown");
    expect(previewState({ preview: new DataView(new ArrayBuffer(0)) })).toBe("none");
  });

  it("waits as a placeholder of its own shape", () => {
    const wide = svgOf(placeholderUrl([1536, 1024]));
    expect(wide).toContain('width="1536" height="1024"');
    expect(wide).toContain('viewBox="0 0 1536 1024"');
    expect(svgOf(placeholderUrl([1024, 3072]))).toContain('viewBox="0 0 1024 3072"');
  });

  it("is a square placeholder for a size it cannot read, never markup from the entry", () => {
    for (const size of [null, [0, 10], ["1024", '"/><script>'], [1, 2, 3], "1024x1024"]) {
      const svg = svgOf(placeholderUrl(size));
      expect(svg).toContain('viewBox="0 0 1 1"');
      expect(svg).not.toContain("script");
    }
  });
});
