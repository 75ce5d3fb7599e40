// The mask as the user sees it: base_mask, then every op of mask_edits in order, drawn at canvas_size.
//
// Two canvases of the same size: `committed` (off screen) holds base_mask + mask_edits exactly,
// `canvas` (on screen, data-testid="mask-layer") is a copy of it plus the stroke being
// drawn. Ending or cancelling a live stroke copies `committed` back, so the on-screen
// pixels always equal what the ops describe once the pointer is up.
//
// Pixels are opaque magenta (alpha 255) where the mask is and transparent elsewhere; the
// tint strength comes from the element's CSS opacity. After each stroke the anti-aliased
// edge is cut at half coverage, which is Python's rule (a pixel belongs to the stroke
// when its centre lies within the radius), so browser and Python agree pixel for pixel
// up to rounding on the very edge.
import { extraOps } from "./history";
import type { Point, Size } from "./geometry";
import { sourceToCanvasScale } from "./geometry";
import type { Mode, Op } from "./types";

const COLOUR = "#ff00ff";
const RGB = [255, 0, 255] as const;

type Scale = { x: number; y: number; mean: number };

export class MaskLayer {
  readonly canvas: HTMLCanvasElement;
  private readonly committed: HTMLCanvasElement;
  private readonly view: CanvasRenderingContext2D;
  private readonly ctx: CanvasRenderingContext2D;
  private base: CanvasImageSource | null = null;
  private rendered: Op[] = [];
  private scale: Scale = { x: 1, y: 1, mean: 1 };
  private size: Size = { width: 0, height: 0 };
  private source: Size = { width: 0, height: 0 };

  constructor() {
    this.canvas = document.createElement("canvas");
    this.canvas.dataset.testid = "mask-layer";
    this.canvas.className = "afs-mask-layer";
    this.committed = document.createElement("canvas");
    // The layer is read back after every stroke (edge threshold) and by tests.
    this.view = this.canvas.getContext("2d", { willReadFrequently: true })!;
    this.ctx = this.committed.getContext("2d", { willReadFrequently: true })!;
  }

  /** Canvas size (canvas_size) and source size (sources[0]); a change redraws everything. */
  setGeometry(canvas: Size, source: Size, ops: Op[]): void {
    const same =
      canvas.width === this.size.width &&
      canvas.height === this.size.height &&
      source.width === this.source.width &&
      source.height === this.source.height;
    if (same) return;
    this.size = { ...canvas };
    this.source = { ...source };
    this.scale = sourceToCanvasScale(source, canvas);
    for (const c of [this.canvas, this.committed]) {
      c.width = Math.max(0, Math.round(canvas.width));
      c.height = Math.max(0, Math.round(canvas.height));
    }
    this.renderAll(ops);
  }

  /** A new decoded base_mask (or none). */
  setBase(base: CanvasImageSource | null, ops: Op[]): void {
    this.base = base;
    this.renderAll(ops);
  }

  /** Bring the layer to `ops`: only the new ones when ops grew, from scratch otherwise. */
  setOps(ops: Op[]): void {
    const extra = extraOps(this.rendered, ops);
    if (extra === null) {
      this.renderAll(ops);
      return;
    }
    if (extra.length === 0) return;
    for (const op of extra) this.apply(op);
    this.rendered = ops.slice();
    this.show();
  }

  /** Redraw from base_mask and all ops. */
  renderAll(ops: Op[]): void {
    const { width, height } = this.committed;
    this.ctx.save();
    this.ctx.setTransform(1, 0, 0, 1, 0, 0);
    this.ctx.globalCompositeOperation = "source-over";
    this.ctx.clearRect(0, 0, width, height);
    if (this.base && width > 0 && height > 0) {
      this.ctx.imageSmoothingEnabled = false;
      this.ctx.drawImage(this.base, 0, 0, width, height);
      // Recolour, keeping only the alpha of base_mask, then make that alpha two-valued.
      this.ctx.globalCompositeOperation = "source-in";
      this.ctx.fillStyle = COLOUR;
      this.ctx.fillRect(0, 0, width, height);
      this.ctx.restore();
      cutAlpha(this.ctx, 0, 0, width, height);
    } else {
      this.ctx.restore();
    }
    for (const op of ops) this.apply(op);
    this.rendered = ops.slice();
    this.show();
  }

  /** Draw one piece of the stroke in progress straight onto the visible layer. */
  drawLive(from: Point, to: Point, radius: number, mode: Mode): void {
    drawStroke(this.view, [from, to], radius, mode, this.scale);
  }

  /** Drop whatever was drawn live: the visible layer goes back to the committed ops. */
  endLive(): void {
    this.show();
  }

  private apply(op: Op): void {
    const { width, height } = this.committed;
    if (width === 0 || height === 0) return;
    const ctx = this.ctx;
    if (op.op === "clear") {
      ctx.clearRect(0, 0, width, height);
    } else if (op.op === "invert") {
      ctx.save();
      ctx.globalCompositeOperation = "xor";
      ctx.fillStyle = COLOUR;
      ctx.fillRect(0, 0, width, height);
      ctx.restore();
    } else if (op.op === "stroke") {
      const points: Point[] = [];
      for (let i = 0; i + 1 < op.points.length; i += 2) points.push([op.points[i], op.points[i + 1]]);
      if (points.length === 0 || !(op.radius > 0)) return;
      drawStroke(ctx, points, op.radius, op.mode, this.scale);
      // Only the stroke's bounding box can have soft edges.
      const pad = op.radius * this.scale.mean + 2;
      let [minX, minY, maxX, maxY] = [Infinity, Infinity, -Infinity, -Infinity];
      for (const [x, y] of points) {
        minX = Math.min(minX, x * this.scale.x);
        maxX = Math.max(maxX, x * this.scale.x);
        minY = Math.min(minY, y * this.scale.y);
        maxY = Math.max(maxY, y * this.scale.y);
      }
      const left = Math.max(0, Math.floor(minX - pad));
      const top = Math.max(0, Math.floor(minY - pad));
      const right = Math.min(width, Math.ceil(maxX + pad));
      const bottom = Math.min(height, Math.ceil(maxY + pad));
      if (right > left && bottom > top) cutAlpha(ctx, left, top, right - left, bottom - top);
    }
  }

  /** Copy the committed layer onto the visible one. */
  private show(): void {
    const { width, height } = this.canvas;
    if (width === 0 || height === 0) return;
    this.view.save();
    this.view.globalCompositeOperation = "copy";
    this.view.drawImage(this.committed, 0, 0);
    this.view.restore();
  }
}

/**
 * Draw a stroke (points in source pixels) with canvas semantics: a polyline of width
 * 2 * radius with round caps and joins, a single point as a filled disc. Paint adds,
 * erase removes (destination-out).
 */
export function drawStroke(ctx: CanvasRenderingContext2D, points: Point[], radius: number, mode: Mode, scale: Scale): void {
  ctx.save();
  ctx.globalCompositeOperation = mode === "erase" ? "destination-out" : "source-over";
  ctx.fillStyle = ctx.strokeStyle = COLOUR;
  const single = points.every((p) => p[0] === points[0][0] && p[1] === points[0][1]);
  ctx.beginPath();
  if (single) {
    ctx.arc(points[0][0] * scale.x, points[0][1] * scale.y, radius * scale.mean, 0, Math.PI * 2);
    ctx.fill();
  } else {
    ctx.lineWidth = 2 * radius * scale.mean;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.moveTo(points[0][0] * scale.x, points[0][1] * scale.y);
    for (let i = 1; i < points.length; i++) ctx.lineTo(points[i][0] * scale.x, points[i][1] * scale.y);
    ctx.stroke();
  }
  ctx.restore();
}

/** Make alpha two-valued in a rectangle: 255 from half coverage up, 0 below. */
function cutAlpha(ctx: CanvasRenderingContext2D, x: number, y: number, width: number, height: number): void {
  const image = ctx.getImageData(x, y, width, height);
  const data = image.data;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] >= 128) {
      data[i] = RGB[0];
      data[i + 1] = RGB[1];
      data[i + 2] = RGB[2];
      data[i + 3] = 255;
    } else {
      data[i] = data[i + 1] = data[i + 2] = data[i + 3] = 0;
    }
  }
  ctx.putImageData(image, x, y);
}
