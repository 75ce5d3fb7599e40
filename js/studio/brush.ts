// The brush: pointer events on the image become one stroke op (points in source
// pixels), drawn live on the mask layer while the pointer moves; keyboard shortcuts.
import type { Cleanups } from "../shared/dom";
import type { Point, Size } from "./geometry";
import { clientToSource, sourceToScreenScale } from "./geometry";
import type { MaskLayer } from "./mask_layer";
import { StrokeBuilder } from "./stroke";
import type { Brush, Mode, StrokeOp } from "./types";

export type BrushOptions = {
  /** Where pointer events land; the image and the mask layer fill it exactly. */
  surface: HTMLElement;
  /** The circle that shows the brush size under the pointer. */
  cursor: HTMLElement;
  layer: MaskLayer;
  /** The primary source's full size, or null when there is nothing to paint on. */
  source: () => Size | null;
  brush: () => Brush;
  /** A finished stroke, once, at pointer-up. */
  onStroke: (op: StrokeOp) => void;
  /** Focus the widget so that the keyboard shortcuts reach it. */
  focus: () => void;
};

/** Pen buttons: the eraser end reports button 5 / buttons bit 32. */
const PEN_ERASER_BUTTON = 5;
const PEN_ERASER_BIT = 32;

export function attachBrush(options: BrushOptions, cleanups: Cleanups): void {
  const { surface, cursor, layer } = options;
  let active: { id: number; builder: StrokeBuilder; source: Size } | null = null;

  const toSource = (event: PointerEvent, source: Size): Point =>
    clientToSource(event.clientX, event.clientY, surface.getBoundingClientRect(), source);

  const moveCursor = (event: PointerEvent) => {
    const source = options.source();
    if (!source || event.pointerType === "touch") {
      cursor.hidden = true;
      return;
    }
    const rect = surface.getBoundingClientRect();
    const diameter = 2 * options.brush().radius * sourceToScreenScale(source, rect);
    cursor.hidden = false;
    cursor.style.width = cursor.style.height = `${diameter}px`;
    cursor.style.left = `${event.clientX - rect.left}px`;
    cursor.style.top = `${event.clientY - rect.top}px`;
    cursor.classList.toggle("afs-erasing", (active?.builder.mode ?? options.brush().mode) === "erase");
  };

  const draw = (segment: [Point, Point] | null, builder: StrokeBuilder) => {
    if (segment) layer.drawLive(segment[0], segment[1], builder.radius, builder.mode);
  };

  cleanups.listen<PointerEvent>(surface, "pointerdown", (event) => {
    const source = options.source();
    if (!source || active || !event.isPrimary) return;
    if (event.pointerType === "mouse" && event.button !== 0) return;
    event.preventDefault(); // no text selection, no emulated mouse events
    options.focus();
    surface.setPointerCapture(event.pointerId);
    const brush = options.brush();
    const eraser = event.button === PEN_ERASER_BUTTON || (event.buttons & PEN_ERASER_BIT) !== 0;
    const mode: Mode = eraser ? "erase" : brush.mode;
    active = { id: event.pointerId, builder: new StrokeBuilder(brush.radius, mode), source };
    draw(active.builder.add(toSource(event, source)), active.builder);
    moveCursor(event);
  });

  cleanups.listen<PointerEvent>(surface, "pointermove", (event) => {
    moveCursor(event);
    if (!active || event.pointerId !== active.id) return;
    // A pen reports more positions than animation frames; take them all for a smooth line.
    const events = typeof event.getCoalescedEvents === "function" ? event.getCoalescedEvents() : [];
    for (const e of events.length ? events : [event]) {
      draw(active.builder.add(toSource(e, active.source)), active.builder);
    }
  });

  const finish = (event: PointerEvent) => {
    if (!active || event.pointerId !== active.id) return;
    const { builder } = active;
    active = null;
    if (surface.hasPointerCapture(event.pointerId)) surface.releasePointerCapture(event.pointerId);
    const op = builder.build();
    if (op) options.onStroke(op);
    layer.endLive();
  };

  const abandon = (event: PointerEvent) => {
    if (!active || event.pointerId !== active.id) return;
    active = null;
    layer.endLive();
  };

  cleanups.listen<PointerEvent>(surface, "pointerup", finish);
  cleanups.listen<PointerEvent>(surface, "pointercancel", abandon);
  // Capture lost without pointerup (e.g. the element was re-parented): keep nothing half drawn.
  cleanups.listen<PointerEvent>(surface, "lostpointercapture", abandon);
  cleanups.listen<PointerEvent>(surface, "pointerleave", () => {
    if (!active) cursor.hidden = true;
  });
  cleanups.listen(surface, "contextmenu", (event) => event.preventDefault());
}

export type Shortcut = "undo" | "redo" | "smaller" | "bigger";

/** The studio's keyboard shortcut for a key press, if any (pure, for tests). */
export function shortcutFor(event: Pick<KeyboardEvent, "key" | "ctrlKey" | "metaKey" | "shiftKey" | "altKey">): Shortcut | null {
  const command = event.ctrlKey || event.metaKey;
  const key = event.key.toLowerCase();
  if (command && !event.altKey) {
    if (key === "z") return event.shiftKey ? "redo" : "undo";
    if (key === "y" && !event.shiftKey) return "redo";
    return null;
  }
  if (event.altKey) return null;
  if (event.key === "[") return "smaller";
  if (event.key === "]") return "bigger";
  return null;
}

/** The next brush radius for `[` / `]`: about 20 % per press, at least 1 px, within bounds. */
export function stepRadius(radius: number, direction: -1 | 1, min: number, max: number): number {
  const factor = 1.2;
  let next = direction > 0 ? Math.max(radius * factor, radius + 1) : Math.min(radius / factor, radius - 1);
  next = Math.round(next);
  return Math.min(max, Math.max(min, next));
}
