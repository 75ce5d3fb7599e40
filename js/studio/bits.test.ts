import { describe, expect, it } from "vitest";
import { fitsPatch, growBox, outlinePixels, pixelOf, rowBytes, unpackInto, unpackPixels } from "./bits";

/** numpy.packbits(axis=1) of a 0/1 grid, written out by hand-independent code (rows padded, MSB first). */
function pack(rows: number[][]): Uint8Array {
  const width = rows[0].length;
  const stride = Math.ceil(width / 8);
  const out = new Uint8Array(stride * rows.length);
  rows.forEach((row, y) =>
    row.forEach((bit, x) => {
      if (bit) out[y * stride + Math.floor(x / 8)] += 2 ** (7 - (x % 8));
    }),
  );
  return out;
}

describe("unpacking a mask patch", () => {
  it("pads every row to whole bytes", () => {
    expect(rowBytes(1)).toBe(1);
    expect(rowBytes(8)).toBe(1);
    expect(rowBytes(9)).toBe(2);
    expect(fitsPatch(new Uint8Array(4), 9, 2)).toBe(true);
    expect(fitsPatch(new Uint8Array(3), 9, 2)).toBe(false);
  });

  it("reads the most significant bit first, row by row", () => {
    // numpy.packbits([[1,0,0,0,0,0,0,0,1,1],[0,1,0,0,0,0,0,0,0,1]], axis=1) == [[128, 192], [64, 64]]
    const packed = new Uint8Array([128, 192, 64, 64]);
    const out = new Uint32Array(20);
    unpackPixels(packed, 10, 2, 7, 1, out);
    expect(Array.from(out)).toEqual([7, 1, 1, 1, 1, 1, 1, 1, 7, 7, 1, 7, 1, 1, 1, 1, 1, 1, 1, 7]);
  });

  it("round-trips an irregular grid", () => {
    const rows = [
      [1, 1, 0, 1, 0, 0, 1, 0, 1, 1, 1],
      [0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0],
      [1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1],
    ];
    const out = new Uint32Array(33);
    unpackPixels(pack(rows), 11, 3, 1, 0, out);
    expect(Array.from(out)).toEqual(rows.flat());
  });

  it("writes into a larger canvas at the patch's box", () => {
    const dest = new Uint8Array(5 * 4);
    unpackInto(pack([[1, 0, 1], [0, 1, 1]]), 3, 2, dest, 5, 1, 2);
    expect(Array.from(dest)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 1, 0]);
  });
});

describe("the mask's outline", () => {
  const grid = (rows: string[]) => ({
    bits: Uint8Array.from(rows.join("").split("").map((c) => (c === "#" ? 1 : 0))),
    width: rows[0].length,
    height: rows.length,
  });
  const show = (out: Uint32Array, width: number) =>
    Array.from({ length: out.length / width }, (_, y) => Array.from(out.subarray(y * width, (y + 1) * width), (v) => (v ? "o" : ".")).join(""));

  it("keeps only the mask's edge pixels", () => {
    const { bits, width, height } = grid(["......", ".####.", ".####.", ".####.", ".####.", "......"]);
    const out = new Uint32Array(width * height);
    outlinePixels(bits, width, height, { x: 0, y: 0, width, height }, 1, 1, out);
    expect(show(out, width)).toEqual(["......", ".oooo.", ".o..o.", ".o..o.", ".oooo.", "......"]);
  });

  it("is thicker when asked and computes a box alone", () => {
    const { bits, width, height } = grid(["#######", "#######", "#######", "#######", "#######"]);
    const out = new Uint32Array(3 * 3);
    outlinePixels(bits, width, height, { x: 2, y: 1, width: 3, height: 3 }, 2, 1, out);
    // Rows 1 and 3 lie within 2 px of the canvas's top and bottom; columns 2..4 are 2 px or more from its sides.
    expect(show(out, 3)).toEqual(["ooo", "...", "ooo"]);
  });

  it("grows a box within the canvas", () => {
    expect(growBox({ x: 1, y: 5, width: 3, height: 3 }, 2, 6, 9)).toEqual({ x: 0, y: 3, width: 6, height: 6 });
  });
});

describe("overlay colours as pixels", () => {
  it("orders the bytes as ImageData does on this machine", () => {
    expect(pixelOf("#ff00ff", true)).toBe(0xffff00ff);
    expect(pixelOf("#00e5ff", true)).toBe(0xffffe500);
    expect(pixelOf("#00e5ff", false)).toBe(0x00e5ffff);
    expect(pixelOf("nonsense", true)).toBe(0xffff00ff); // magenta when the colour is not #rrggbb
  });
});

describe("the outline at any thickness", () => {
  it("is what a direct neighbourhood search finds", () => {
    const width = 23;
    const height = 17;
    const bits = Uint8Array.from({ length: width * height }, (_, i) => ((i * 7919) % 13 < 9 ? 1 : 0));
    for (const t of [1, 2, 3]) {
      const box = { x: 3, y: 2, width: 15, height: 11 };
      const out = new Uint32Array(box.width * box.height);
      outlinePixels(bits, width, height, box, t, 1, out);
      for (let by = 0; by < box.height; by++) {
        for (let bx = 0; bx < box.width; bx++) {
          const [x, y] = [box.x + bx, box.y + by];
          let outside = false;
          for (let dy = -t; dy <= t; dy++) {
            for (let dx = -t; dx <= t; dx++) {
              const [xx, yy] = [x + dx, y + dy];
              if (xx < 0 || yy < 0 || xx >= width || yy >= height || !bits[yy * width + xx]) outside = true;
            }
          }
          expect(out[by * box.width + bx]).toBe(bits[y * width + x] && outside ? 1 : 0);
        }
      }
    }
  });
});
