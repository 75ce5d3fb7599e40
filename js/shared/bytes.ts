// Binary traits (DataView in anywidget) to Blobs, object URLs and decoded bitmaps.
/** A binary trait as the comm delivers it (a DataView in JupyterLab), or not yet set. */
export type Bytes = DataView | ArrayBuffer | Uint8Array | null | undefined;

/** The bytes of a binary trait as a Uint8Array view (no copy), or null when empty. */
export function asUint8(bytes: Bytes): Uint8Array | null {
  if (!bytes) return null;
  let view: Uint8Array;
  if (bytes instanceof Uint8Array) view = bytes;
  else if (bytes instanceof ArrayBuffer) view = new Uint8Array(bytes);
  else if (ArrayBuffer.isView(bytes)) view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  else return null;
  return view.byteLength > 0 ? view : null;
}

/** Guess an image's type from its first bytes (Python sends PNG or JPEG, sometimes WebP/GIF). */
export function sniffImageMime(data: Uint8Array): string {
  if (data[0] === 0x89 && data[1] === 0x50) return "image/png";
  if (data[0] === 0xff && data[1] === 0xd8) return "image/jpeg";
  if (data[0] === 0x47 && data[1] === 0x49) return "image/gif";
  if (data[0] === 0x52 && data[8] === 0x57) return "image/webp";
  return "application/octet-stream";
}

export function toBlob(bytes: Bytes, mime?: string): Blob | null {
  const data = asUint8(bytes);
  if (!data) return null;
  // Copy into a fresh buffer: the DataView may be a window on a larger shared message buffer.
  return new Blob([data.slice()], { type: mime || sniffImageMime(data) });
}

/**
 * Object URLs keyed by a caller's key, revoked when they are replaced or released, so a
 * panel that re-renders does not leak one blob per render.
 */
export class UrlCache {
  private urls = new Map<string, { bytes: Bytes; url: string }>();

  /** The URL for `bytes` under `key`, reused while the same bytes object is passed in. */
  get(key: string, bytes: Bytes, mime?: string): string | null {
    const known = this.urls.get(key);
    if (known && (known.bytes === bytes || sameBytes(known.bytes, bytes))) return known.url;
    if (known) URL.revokeObjectURL(known.url);
    this.urls.delete(key);
    const blob = toBlob(bytes, mime);
    if (!blob) return null;
    const url = URL.createObjectURL(blob);
    this.urls.set(key, { bytes, url });
    return url;
  }

  /** Revoke the URLs whose keys are not in `keep`. */
  retain(keep: Set<string>): void {
    for (const [key, entry] of this.urls) {
      if (!keep.has(key)) {
        URL.revokeObjectURL(entry.url);
        this.urls.delete(key);
      }
    }
  }

  clear(): void {
    this.retain(new Set());
  }
}

/** Byte-for-byte equality; a sync re-sends equal bytes as new DataViews. */
export function sameBytes(a: Bytes, b: Bytes): boolean {
  const x = asUint8(a);
  const y = asUint8(b);
  if (!x || !y) return x === y;
  if (x.byteLength !== y.byteLength) return false;
  for (let i = 0; i < x.byteLength; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** Decode image bytes into something drawImage takes. */
export async function decodeImage(bytes: Bytes): Promise<ImageBitmap | HTMLImageElement | null> {
  const blob = toBlob(bytes);
  if (!blob) return null;
  if (typeof createImageBitmap === "function") {
    // premultiplyAlpha "none" keeps the mask's alpha exact; no colour conversion either.
    return createImageBitmap(blob, { premultiplyAlpha: "none", colorSpaceConversion: "none" });
  }
  const url = URL.createObjectURL(blob);
  try {
    const img = new Image();
    img.src = url;
    await img.decode();
    return img;
  } finally {
    URL.revokeObjectURL(url);
  }
}
