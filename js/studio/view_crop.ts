// The sharp view: zoomed in beyond canvas_image's own resolution, the visible part of
// the source is asked of Python at full resolution (`view`, once the view has been
// still for a moment) and shown over exactly that box of the stage, so it moves and
// zooms with the stage. Hidden while the canvas image is sharp enough, and dropped
// when the primary changes.
import type { Cleanups } from "../shared/dom";
import { h } from "../shared/dom";
import { toBlob } from "../shared/bytes";
import type { Size } from "./geometry";
import type { ViewMessage } from "./types";
import type { Viewport } from "./viewport";
import { viewRequest } from "./zoom";

const SETTLE_MS = 150;

type Request = { box: [number, number, number, number]; width: number; height: number };

export class ViewCrop {
  readonly image = h("img", { class: "afs-view-crop", "data-testid": "view-crop", alt: "", draggable: "false", hidden: true });
  private url: string | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private asked: Request | null = null;
  private shown: Request | null = null;
  private sourceKey = "";

  constructor(
    private readonly viewport: Viewport,
    private readonly source: () => (Size & { key: string }) | null,
    private readonly canvasScale: () => number,
    private readonly send: (message: Record<string, unknown>) => void,
    cleanups: Cleanups,
  ) {
    viewport.onChange(() => this.schedule());
    cleanups.add(() => {
      clearTimeout(this.timer);
      this.drop();
    });
  }

  /** The primary changed (or not): a crop of another source is never shown. */
  checkSource(): void {
    const key = this.source()?.key ?? "";
    if (key !== this.sourceKey) {
      this.sourceKey = key;
      this.asked = null;
      this.drop();
    }
    this.schedule();
  }

  /** Python's answer to a `view` message (every view of the model hears it; only our own ask counts). */
  onAnswer(message: ViewMessage, buffers: DataView[]): void {
    const asked = this.asked;
    if (!asked || !Array.isArray(message.box) || !sameBox(asked.box, message.box)) return;
    const blob = toBlob(buffers?.[0] ?? null, message.mime);
    if (!blob) return;
    if (this.url) URL.revokeObjectURL(this.url);
    this.url = URL.createObjectURL(blob);
    const [x0, y0, x1, y1] = message.box;
    Object.assign(this.image.style, { left: `${x0}px`, top: `${y0}px`, width: `${x1 - x0}px`, height: `${y1 - y0}px` });
    this.image.src = this.url;
    this.shown = asked;
    this.asked = null;
    this.image.decode?.().then(
      () => this.show(),
      () => this.show(),
    );
  }

  private show(): void {
    // Still wanted: the view may have zoomed out while the image loaded.
    this.image.hidden = this.shown === null || this.want() === null;
  }

  private want(): Request | null {
    const source = this.source();
    if (!source) return null;
    return viewRequest(this.viewport.view, source, this.viewport.size, this.canvasScale(), window.devicePixelRatio || 1);
  }

  private schedule(): void {
    clearTimeout(this.timer);
    if (this.want() === null) {
      this.image.hidden = true; // zoomed out: the canvas image is as sharp as the screen
      return;
    }
    this.timer = setTimeout(() => this.ask(), SETTLE_MS);
  }

  private ask(): void {
    const request = this.want();
    if (!request) return;
    const current = this.shown;
    if (current && sameBox(current.box, request.box) && current.width >= request.width) {
      this.image.hidden = false;
      return;
    }
    this.asked = request;
    this.send({ type: "view", box: request.box, width: request.width, height: request.height });
  }

  private drop(): void {
    this.image.hidden = true;
    this.image.removeAttribute("src");
    this.shown = null;
    if (this.url) URL.revokeObjectURL(this.url);
    this.url = null;
  }
}

function sameBox(a: readonly number[], b: readonly number[]): boolean {
  return a.length === 4 && b.length === 4 && a.every((v, i) => Math.abs(v - b[i]) <= 1);
}
