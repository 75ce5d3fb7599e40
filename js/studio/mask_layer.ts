// The mask as Python holds it, at canvas_size, from its `mask` patches; plus the edit
// in progress drawn optimistically on top until Python's patch for it arrives.
//
// Canvases of exactly canvas_size pixels:
// - `committed` (off screen): Python's painted mask, nothing else;
// - `canvas` (data-testid=mask-layer, shown): `committed` plus what is drawn live;
// - `send` (data-testid=send-mask, hidden): the mask to send (after grow/shrink);
// - `outline` (data-testid=mask-outline): the painted mask's edge, when `brush.outline`.
// Pixels are opaque in the overlay colour where the mask is and transparent elsewhere.
// The live drawing is undone (the box copied back from `committed`) once no edit of
// this view is waiting for its patch, so the layer always ends equal to Python's mask.
// With the outline shown, the layer holds only the live drawing.
import type { Box } from "./bits";
import { fitsPatch, growBox, outlinePixels, pixelOf, unpackInto, unpackPixels } from "./bits";
import type { Point, Size } from "./geometry";
import { sourceToCanvasScale } from "./geometry";
import type { MaskMessage, Mode } from "./types";

type Scale = { x: number; y: number; mean: number };

/** How long an edit may wait for its patch before the live drawing is dropped (a refused or empty edit). */
const PATCH_WAIT_MS = 2000;
const SEND_ON = pixelOf("#ffffff");

function canvas(testid: string, className: string): HTMLCanvasElement {
  const element = document.createElement("canvas");
  element.dataset.testid = testid;
  element.className = className;
  element.width = element.height = 0;
  return element;
}

export class MaskLayer {
  readonly canvas = canvas("mask-layer", "afs-mask-layer");
  readonly outline = canvas("mask-outline", "afs-mask-layer afs-mask-outline");
  readonly send = canvas("send-mask", "afs-send-mask");
  /** The version of the last patch drawn. */
  version = -1;
  private readonly committed = document.createElement("canvas");
  private readonly view = this.canvas.getContext("2d", { willReadFrequently: true })!;
  private readonly ctx = this.committed.getContext("2d", { willReadFrequently: true })!;
  private readonly sendCtx = this.send.getContext("2d", { willReadFrequently: true })!;
  private readonly outlineCtx = this.outline.getContext("2d")!;
  private bits = new Uint8Array(0);
  private size: Size = { width: 0, height: 0 };
  private scale: Scale = { x: 1, y: 1, mean: 1 };
  private colour = "#ff00ff";
  private showOutline = false;
  private thickness = 1;
  /** Canvas box drawn live and not yet given back to `committed`; null when clean. */
  private dirty: Box | null = null;
  private drawing = false;
  private pending = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly onStale: () => void) {
    this.send.hidden = true;
  }

  get width(): number {
    return this.size.width;
  }

  get height(): number {
    return this.size.height;
  }

  /** canvas_size and the primary's own size; a new canvas size starts empty until Python's full patch. */
  setGeometry(canvasSize: Size, source: Size): void {
    this.scale = sourceToCanvasScale(source, canvasSize);
    this.resize(Math.max(0, Math.round(canvasSize.width)), Math.max(0, Math.round(canvasSize.height)));
  }

  private resize(width: number, height: number): void {
    if (width === this.size.width && height === this.size.height) return;
    this.size = { width, height };
    for (const c of [this.canvas, this.committed, this.send, this.outline]) {
      c.width = width;
      c.height = height;
    }
    this.bits = new Uint8Array(width * height);
    this.dirty = null;
  }

  /** Overlay colour and outline mode (`brush.colour`, `brush.outline`); `thickness` in canvas px. */
  setStyle(colour: string, outline: boolean, thickness: number): void {
    const t = Math.max(1, Math.min(8, Math.round(thickness)));
    const changed = colour !== this.colour || outline !== this.showOutline;
    const thicker = outline && t !== this.thickness;
    this.colour = colour;
    this.showOutline = outline;
    this.thickness = t;
    const all = { x: 0, y: 0, width: this.size.width, height: this.size.height };
    if (changed) {
      this.paintBox(this.ctx, all);
      this.restore(all);
    }
    if (changed || thicker) this.drawOutline(all);
    this.outline.hidden = !outline;
  }

  /** One `mask` message: Python's pixels for its box. False when it does not fit (then a sync is asked). */
  applyPatch(message: MaskMessage, buffers: DataView[]): boolean {
    if (!Array.isArray(message.box) || message.box.length !== 4 || !message.box.every(Number.isInteger)) return false;
    const [x, y, width, height] = message.box;
    const size = Array.isArray(message.size) && message.size.length === 2 ? message.size : message.full ? [width, height] : null;
    if (size && (size[0] !== this.size.width || size[1] !== this.size.height)) {
      this.resize(size[0], size[1]); // the patch came before the new canvas_size
    }
    const painted = asBytes(buffers?.[0]);
    const send = buffers?.[1] ? asBytes(buffers[1]) : painted;
    const inside = x >= 0 && y >= 0 && x + width <= this.size.width && y + height <= this.size.height;
    if (!inside || !painted || !send || !fitsPatch(painted, width, height) || !fitsPatch(send, width, height)) {
      this.onStale();
      return false;
    }
    if (typeof message.version === "number" && message.version < this.version) return false; // an older patch
    const box = { x, y, width, height };
    unpackInto(painted, width, height, this.bits, this.size.width, x, y);
    this.paintBox(this.ctx, box);
    const image = new ImageData(width, height);
    unpackPixels(send, width, height, SEND_ON, 0, new Uint32Array(image.data.buffer));
    this.sendCtx.putImageData(image, x, y);
    if (this.dirty || this.drawing) this.dirty = union(this.dirty, box);
    else this.restore(box);
    this.drawOutline(growBox(box, this.thickness, this.size.width, this.size.height));
    if (typeof message.version === "number") this.version = message.version;
    this.pending = Math.max(0, this.pending - 1);
    this.settle();
    return true;
  }

  /** A live edit starts (pointer down): nothing drawn live is given back until it is sent and answered. */
  beginLive(): void {
    this.drawing = true;
  }

  /** One piece of a stroke (source px), drawn now. */
  drawStroke(from: Point, to: Point, radius: number, mode: Mode): void {
    const s = this.scale;
    const ctx = this.view;
    ctx.save();
    ctx.globalCompositeOperation = mode === "erase" ? "destination-out" : "source-over";
    ctx.fillStyle = ctx.strokeStyle = this.colour;
    ctx.lineWidth = 2 * radius * s.mean;
    ctx.lineCap = ctx.lineJoin = "round";
    ctx.beginPath();
    if (from[0] === to[0] && from[1] === to[1]) {
      ctx.arc(from[0] * s.x, from[1] * s.y, radius * s.mean, 0, Math.PI * 2);
      ctx.fill();
    } else {
      ctx.moveTo(from[0] * s.x, from[1] * s.y);
      ctx.lineTo(to[0] * s.x, to[1] * s.y);
      ctx.stroke();
    }
    ctx.restore();
    const pad = radius * s.mean + 2;
    this.markDirty([from, to], pad);
  }

  /** A closed selection (source px; an ellipse as its box's two corners), filled now. */
  drawShape(kind: "rect" | "ellipse" | "polygon", points: Point[], mode: Mode): void {
    if (points.length < 2) return;
    const s = this.scale;
    const ctx = this.view;
    ctx.save();
    ctx.globalCompositeOperation = mode === "erase" ? "destination-out" : "source-over";
    ctx.fillStyle = this.colour;
    ctx.beginPath();
    if (kind === "polygon") {
      points.forEach(([px, py], i) => (i ? ctx.lineTo(px * s.x, py * s.y) : ctx.moveTo(px * s.x, py * s.y)));
      ctx.closePath();
      ctx.fill("evenodd");
    } else {
      const [[ax, ay], [bx, by]] = points;
      const [x0, y0, x1, y1] = [Math.min(ax, bx) * s.x, Math.min(ay, by) * s.y, Math.max(ax, bx) * s.x, Math.max(ay, by) * s.y];
      if (kind === "rect") ctx.rect(x0, y0, x1 - x0, y1 - y0);
      else ctx.ellipse((x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2, 0, 0, Math.PI * 2);
      ctx.fill();
    }
    ctx.restore();
    this.markDirty(points, 2);
  }

  /** The live edit ended: `sent` when it went to Python (its patch will come), false when abandoned. */
  endLive(sent: boolean): void {
    this.drawing = false;
    if (sent) this.expectPatch();
    this.settle();
  }

  /** An edit, undo or redo went to Python: its patch is awaited before live drawing is given back. */
  expectPatch(): void {
    this.pending += 1;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.pending = 0;
      this.settle();
    }, PATCH_WAIT_MS);
  }

  dispose(): void {
    clearTimeout(this.timer);
  }

  /** Give the live drawing back to Python's pixels once nothing is waiting. */
  private settle(): void {
    if (this.drawing || this.pending > 0 || !this.dirty) return;
    const box = this.dirty;
    this.dirty = null;
    this.restore(box);
  }

  /** The shown layer over `box` = `committed` (nothing with the outline shown). */
  private restore(box: Box): void {
    if (box.width <= 0 || box.height <= 0) return;
    this.view.clearRect(box.x, box.y, box.width, box.height);
    if (!this.showOutline) this.view.drawImage(this.committed, box.x, box.y, box.width, box.height, box.x, box.y, box.width, box.height);
  }

  /** `committed` over `box` from the bits, in the overlay colour. */
  private paintBox(ctx: CanvasRenderingContext2D, box: Box): void {
    if (box.width <= 0 || box.height <= 0) return;
    const image = new ImageData(box.width, box.height);
    const out = new Uint32Array(image.data.buffer);
    const on = pixelOf(this.colour);
    for (let y = 0; y < box.height; y++) {
      const row = (box.y + y) * this.size.width + box.x;
      for (let x = 0; x < box.width; x++) out[y * box.width + x] = this.bits[row + x] ? on : 0;
    }
    ctx.putImageData(image, box.x, box.y);
  }

  private drawOutline(box: Box): void {
    if (!this.showOutline || box.width <= 0 || box.height <= 0) return;
    const image = new ImageData(box.width, box.height);
    outlinePixels(this.bits, this.size.width, this.size.height, box, this.thickness, pixelOf(this.colour), new Uint32Array(image.data.buffer));
    this.outlineCtx.putImageData(image, box.x, box.y);
  }

  private markDirty(points: Point[], pad: number): void {
    let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
    for (const [px, py] of points) {
      x0 = Math.min(x0, px * this.scale.x);
      y0 = Math.min(y0, py * this.scale.y);
      x1 = Math.max(x1, px * this.scale.x);
      y1 = Math.max(y1, py * this.scale.y);
    }
    const left = Math.max(0, Math.floor(x0 - pad));
    const top = Math.max(0, Math.floor(y0 - pad));
    const right = Math.min(this.size.width, Math.ceil(x1 + pad));
    const bottom = Math.min(this.size.height, Math.ceil(y1 + pad));
    if (right > left && bottom > top) this.dirty = union(this.dirty, { x: left, y: top, width: right - left, height: bottom - top });
  }
}

function union(a: Box | null, b: Box): Box {
  if (!a) return { ...b };
  const x0 = Math.min(a.x, b.x);
  const y0 = Math.min(a.y, b.y);
  const x1 = Math.max(a.x + a.width, b.x + b.width);
  const y1 = Math.max(a.y + a.height, b.y + b.height);
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

function asBytes(view: DataView | ArrayBuffer | undefined): Uint8Array | null {
  if (!view) return null;
  if (view instanceof ArrayBuffer) return new Uint8Array(view);
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}
