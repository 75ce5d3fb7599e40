// Zoom and pan of the mask stage (js/README.md, "Zoom and pan"): the stage is the
// source at one CSS pixel per source pixel inside a clipped viewport, moved by a CSS
// transform. Ctrl/Cmd+wheel and two-finger pinch zoom around the pointer; Space+drag
// and middle-drag pan; fit / 100 % buttons and keys. The math is in zoom.ts.
import type { Cleanups } from "../shared/dom";
import { h } from "../shared/dom";
import type { Point, Size } from "./geometry";
import { clientToSource } from "./geometry";
import type { View } from "./zoom";
import { actualSizeView, clampView, fitView, panBy, wheelFactor, zoomAt, zoomText } from "./zoom";

const MIN_HEIGHT = 240;
const MAX_HEIGHT = 640;

export class Viewport {
  /** The clipped box (data-testid=viewport); pointer events land here. */
  readonly element: HTMLElement;
  readonly readout = h("output", { class: "afs-value afs-zoom", "data-testid": "zoom", "aria-live": "off" });
  readonly fitButton = h("button", { type: "button", "data-testid": "zoom-fit", title: "Fit the image (0)" }, "Fit");
  readonly actualButton = h("button", { type: "button", "data-testid": "zoom-100", title: "Zoom to 100 %: one source pixel per screen pixel (1)" }, "100 %");
  view: View = { zoom: 1, x: 0, y: 0 };
  private source: Size = { width: 0, height: 0 };
  private fitted = true; // follow the viewport's size while the user has not zoomed
  private listeners: Array<() => void> = [];
  private spaceHeld = false;
  private pan: { id: number; x: number; y: number } | null = null;
  private touches = new Map<number, Point>();
  private pinch: { distance: number; centre: Point } | null = null;

  constructor(
    readonly stage: HTMLElement,
    private readonly onGesture: () => void,
    cleanups: Cleanups,
  ) {
    this.element = h("div", { class: "afs-viewport", "data-testid": "viewport" }, stage);
    cleanups.listen(this.fitButton, "click", () => this.fit());
    cleanups.listen(this.actualButton, "click", () => this.actualSize());
    cleanups.listen<WheelEvent>(this.element, "wheel", (event) => this.wheel(event), { passive: false });
    // Capture: a pan or pinch takes the pointer before the tools see it.
    cleanups.listen<PointerEvent>(this.element, "pointerdown", (event) => this.down(event), true);
    cleanups.listen<PointerEvent>(this.element, "pointermove", (event) => this.move(event), true);
    for (const type of ["pointerup", "pointercancel"]) {
      cleanups.listen<PointerEvent>(this.element, type, (event) => this.up(event), true);
    }
    // A touch whose capture a cancelled stroke let go is still on the screen: only a pan ends here.
    cleanups.listen<PointerEvent>(this.element, "lostpointercapture", (event) => {
      if (this.pan && event.pointerId === this.pan.id) this.up(event);
    }, true);
    cleanups.listen(this.element, "auxclick", (event) => event.preventDefault()); // middle-click paste/scroll
  }

  /** Called after every change of the view. */
  onChange(fn: () => void): void {
    this.listeners.push(fn);
  }

  get size(): Size {
    return { width: this.element.clientWidth, height: this.element.clientHeight };
  }

  /** A new primary (or canvas) size: the stage takes it and the view fits it. */
  setSource(source: Size): void {
    const same = source.width === this.source.width && source.height === this.source.height;
    this.source = { ...source };
    this.stage.style.width = `${source.width}px`;
    this.stage.style.height = `${source.height}px`;
    this.layout();
    if (!same) this.fit();
  }

  /** The viewport's height follows its width and the source's aspect, within bounds. */
  layout(): void {
    const width = this.element.clientWidth || 480;
    const aspect = this.source.width > 0 ? this.source.height / this.source.width : 0.75;
    const room = Math.max(MIN_HEIGHT, Math.min(window.innerHeight * 0.7, MAX_HEIGHT));
    this.element.style.height = `${Math.round(Math.max(MIN_HEIGHT, Math.min(room, width * aspect)))}px`;
    this.apply(this.fitted ? fitView(this.source, this.size) : clampView(this.view, this.source, this.size), this.fitted);
  }

  fit(): void {
    this.apply(fitView(this.source, this.size), true);
  }

  actualSize(): void {
    this.apply(actualSizeView(this.view, this.source, this.size), false);
  }

  /** Zoom by `factor` around the viewport's centre (keys + and -). */
  zoomBy(factor: number): void {
    const { width, height } = this.size;
    this.apply(zoomAt(this.view, this.view.zoom * factor, [width / 2, height / 2], this.source, this.size), false);
  }

  /** A pointer position (client px) in source pixels, through the stage's transformed box. */
  toSource(clientX: number, clientY: number): Point {
    return clientToSource(clientX, clientY, this.stage.getBoundingClientRect(), this.source);
  }

  /** Space is held: a drag pans instead of drawing. */
  setSpace(held: boolean): void {
    this.spaceHeld = held;
    this.element.classList.toggle("afs-can-pan", held);
  }

  private apply(view: View, fitted: boolean): void {
    this.view = view;
    this.fitted = fitted;
    this.stage.style.transform = `translate(${view.x}px, ${view.y}px) scale(${view.zoom})`;
    this.readout.textContent = zoomText(view.zoom);
    this.readout.dataset.zoom = String(Math.round(view.zoom * 10000) / 100);
    for (const fn of this.listeners) fn();
  }

  private local(clientX: number, clientY: number): Point {
    const rect = this.element.getBoundingClientRect();
    return [clientX - rect.left - this.element.clientLeft, clientY - rect.top - this.element.clientTop];
  }

  private wheel(event: WheelEvent): void {
    if (!(event.ctrlKey || event.metaKey) || this.source.width <= 0) return; // a plain wheel scrolls the notebook
    event.preventDefault();
    const at = this.local(event.clientX, event.clientY);
    this.apply(zoomAt(this.view, this.view.zoom * wheelFactor(event.deltaY, event.deltaMode), at, this.source, this.size), false);
  }

  private take(event: PointerEvent): void {
    event.preventDefault();
    event.stopImmediatePropagation();
  }

  private down(event: PointerEvent): void {
    if (event.pointerType === "touch") {
      this.touches.set(event.pointerId, [event.clientX, event.clientY]);
      if (this.touches.size === 2) {
        this.onGesture(); // a stroke begun by the first finger is dropped
        this.pinch = this.pinchState();
        this.element.setPointerCapture?.(event.pointerId);
        this.take(event);
      }
      return;
    }
    const middle = event.pointerType === "mouse" && event.button === 1;
    if (!middle && !(this.spaceHeld && event.button === 0)) return;
    this.take(event);
    this.pan = { id: event.pointerId, x: event.clientX, y: event.clientY };
    this.element.setPointerCapture?.(event.pointerId);
    this.element.classList.add("afs-panning");
  }

  private move(event: PointerEvent): void {
    if (this.touches.has(event.pointerId)) {
      this.touches.set(event.pointerId, [event.clientX, event.clientY]);
      if (this.pinch && this.touches.size === 2) {
        this.take(event);
        const next = this.pinchState();
        const scale = next.distance / Math.max(1, this.pinch.distance);
        const at = this.local(next.centre[0], next.centre[1]);
        let view = zoomAt(this.view, this.view.zoom * scale, at, this.source, this.size);
        view = panBy(view, next.centre[0] - this.pinch.centre[0], next.centre[1] - this.pinch.centre[1], this.source, this.size);
        this.pinch = next;
        this.apply(view, false);
      }
      return;
    }
    if (!this.pan || event.pointerId !== this.pan.id) return;
    this.take(event);
    const dx = event.clientX - this.pan.x;
    const dy = event.clientY - this.pan.y;
    this.pan = { id: event.pointerId, x: event.clientX, y: event.clientY };
    this.apply(panBy(this.view, dx, dy, this.source, this.size), false);
  }

  private up(event: PointerEvent): void {
    if (this.touches.delete(event.pointerId)) {
      if (this.pinch) this.take(event);
      if (this.touches.size < 2) this.pinch = null;
      return;
    }
    if (!this.pan || event.pointerId !== this.pan.id) return;
    this.take(event);
    this.pan = null;
    this.element.classList.remove("afs-panning");
  }

  private pinchState(): { distance: number; centre: Point } {
    const [a, b] = [...this.touches.values()];
    return { distance: Math.hypot(a[0] - b[0], a[1] - b[1]), centre: [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2] };
  }
}
