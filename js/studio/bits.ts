// Pure: the mask patches Python sends (`mask` messages) as pixels. A patch is one bit
// per canvas pixel, each row packed into whole bytes, most significant bit first
// (numpy.packbits(axis=1)). Everything here works on one box at a time, so a patch
// costs what its box costs, never what the whole canvas costs.

/** Bytes per packed row of `width` pixels. */
export function rowBytes(width: number): number {
  return (width + 7) >> 3;
}

/** True when `packed` holds at least `height` rows of `width` pixels. */
export function fitsPatch(packed: Uint8Array, width: number, height: number): boolean {
  return width > 0 && height > 0 && packed.byteLength >= rowBytes(width) * height;
}

/**
 * Unpack a patch into 32-bit pixels (an ImageData's buffer seen as Uint32Array):
 * `on` where the bit is set, `off` elsewhere. `out` holds `width * height` pixels.
 */
export function unpackPixels(packed: Uint8Array, width: number, height: number, on: number, off: number, out: Uint32Array): void {
  const stride = rowBytes(width);
  for (let y = 0; y < height; y++) {
    const row = y * stride;
    const base = y * width;
    for (let x = 0; x < width; x++) {
      out[base + x] = packed[row + (x >> 3)] & (0x80 >> (x & 7)) ? on : off;
    }
  }
}

/** Unpack a patch into one byte (0/1) per pixel of a `destWidth`-wide array, at (`left`, `top`). */
export function unpackInto(packed: Uint8Array, width: number, height: number, dest: Uint8Array, destWidth: number, left: number, top: number): void {
  const stride = rowBytes(width);
  for (let y = 0; y < height; y++) {
    const row = y * stride;
    const base = (top + y) * destWidth + left;
    for (let x = 0; x < width; x++) dest[base + x] = packed[row + (x >> 3)] & (0x80 >> (x & 7)) ? 1 : 0;
  }
}

export type Box = { x: number; y: number; width: number; height: number };

/** `box` grown by `by` pixels on every side, within a `width` x `height` canvas. */
export function growBox(box: Box, by: number, width: number, height: number): Box {
  const x0 = Math.max(0, box.x - by);
  const y0 = Math.max(0, box.y - by);
  const x1 = Math.min(width, box.x + box.width + by);
  const y1 = Math.min(height, box.y + box.height + by);
  return { x: x0, y: y0, width: Math.max(0, x1 - x0), height: Math.max(0, y1 - y0) };
}

/**
 * The mask's edge within `box`: pixels of the mask (`bits`, one byte per pixel of a
 * `width` x `height` canvas) with a pixel outside it (or the canvas edge) within
 * `thickness` pixels (a square neighbourhood), as 32-bit pixels (`on` / 0) of the box.
 * Window sums make it cost the same for any thickness: O(box area).
 */
export function outlinePixels(bits: Uint8Array, width: number, height: number, box: Box, thickness: number, on: number, out: Uint32Array): void {
  const t = Math.max(1, Math.round(thickness));
  const rows = growBox(box, t, width, height);
  const w = box.width;
  // inner[ry][bx]: no pixel outside the mask within t along the row (off-canvas counts as outside).
  const inner = new Uint8Array(w * rows.height);
  const zeros = new Int32Array(width + 1); // zeros[i]: pixels outside the mask among x < i, for one row
  for (let ry = 0; ry < rows.height; ry++) {
    const line = (rows.y + ry) * width;
    for (let x = 0; x < width; x++) zeros[x + 1] = zeros[x] + (bits[line + x] ? 0 : 1);
    for (let bx = 0; bx < w; bx++) {
      const x = box.x + bx;
      const lo = x - t;
      const hi = x + t + 1;
      inner[ry * w + bx] = lo >= 0 && hi <= width && zeros[hi] - zeros[lo] === 0 ? 1 : 0;
    }
  }
  // Down each column of the box: every row within t must be inner.
  const outer = new Int32Array(rows.height + 1);
  for (let bx = 0; bx < w; bx++) {
    for (let ry = 0; ry < rows.height; ry++) outer[ry + 1] = outer[ry] + (inner[ry * w + bx] ? 0 : 1);
    for (let by = 0; by < box.height; by++) {
      const y = box.y + by;
      let edge = 0;
      if (bits[y * width + box.x + bx]) {
        const lo = y - t;
        const hi = y + t + 1;
        edge = lo < 0 || hi > height || outer[hi - rows.y] - outer[lo - rows.y] > 0 ? 1 : 0;
      }
      out[by * w + bx] = edge ? on : 0;
    }
  }
}

/** An opaque "#rrggbb" as a 32-bit pixel in this machine's byte order (for Uint32Array views of ImageData). */
export function pixelOf(hex: string, littleEndian = isLittleEndian()): number {
  const match = /^#?([0-9a-f]{6})$/i.exec(hex.trim());
  const value = match ? parseInt(match[1], 16) : 0xff00ff;
  const r = (value >> 16) & 255;
  const g = (value >> 8) & 255;
  const b = value & 255;
  return littleEndian ? ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0 : ((r << 24) | (g << 16) | (b << 8) | 255) >>> 0;
}

function isLittleEndian(): boolean {
  return new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
}
