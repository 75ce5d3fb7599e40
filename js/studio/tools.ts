// The mask tools on the stage: pointer events -> one mask edit per use. The brush
// paints a stroke (drawn live on the mask layer); rectangle, ellipse and lasso are
// drags, polygon is clicks (double-click or Enter closes, Escape cancels, Backspace
// takes a corner back), colour select is a click. Selections show a live outline
// (SVG, data-testid=selection-shape) and are filled on the layer when they end, until
// Python's patch replaces them. Points are source pixels, whatever the zoom.
import type { Cleanups } from "../shared/dom";
import type { Point, Size } from "./geometry";
import type { MaskLayer } from "./mask_layer";
import { LassoBuilder, PolygonBuilder, boxEdit, colorEdit, modeFor, svgPath } from "./shapes";
import { StrokeBuilder } from "./stroke";
import type { Brush, Mode, Op } from "./types";
import type { Viewport } from "./viewport";

export type ToolsOptions = {
  viewport: Viewport;
  /** The circle that shows the brush size under the pointer (in the viewport). */
  cursor: HTMLElement;
  /** The SVG over the stage, viewBox in source pixels. */
  shape: SVGSVGElement;
  layer: MaskLayer;
  source: () => Size | null;
  brush: () => Brush;
  /** One finished edit. */
  send: (op: Op) => void;
  /** Focus the widget so that the keyboard shortcuts reach it. */
  focus: () => void;
};

/** Pen buttons: the eraser end reports button 5 / buttons bit 32. */
const PEN_ERASER_BUTTON = 5;
const PEN_ERASER_BIT = 32;
const SVG = "http://www.w3.org/2000/svg";

type Drag =
  | { kind: "brush"; id: number; builder: StrokeBuilder }
  | { kind: "rect" | "ellipse"; id: number; mode: Mode; start: Point; end: Point }
  | { kind: "lasso"; id: number; mode: Mode; builder: LassoBuilder };

export type Tools = {
  /** Drop whatever is in progress (a pinch began, the tool changed). */
  cancel: () => void;
  /** Keys the polygon tool uses (Enter, Escape, Backspace); true when the key was used. */
  key: (event: KeyboardEvent) => boolean;
  /** Redraw the cursor and outline after a zoom or pan. */
  refresh: () => void;
};

export function attachTools(options: ToolsOptions, cleanups: Cleanups): Tools {
  const { viewport, cursor, shape, layer } = options;
  const surface = viewport.element;
  let drag: Drag | null = null;
  let polygon: { builder: PolygonBuilder; mode: Mode; hover: Point | null } | null = null;
  let lastPointer: PointerEvent | null = null;

  // A dark line under a dashed light one: visible on any picture.
  const paths = ["afs-selection-under", "afs-selection-line"].map((name) => {
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("class", name);
    shape.appendChild(path);
    return path;
  });
  const setOutline = (d: string) => {
    for (const path of paths) path.setAttribute("d", d);
    shape.style.visibility = d ? "visible" : "hidden";
  };
  // The stage is scaled by the zoom; the outline's lines stay the same on screen.
  const setLineScale = () => shape.style.setProperty("--afs-px", String(1 / viewport.view.zoom));
  setLineScale();
  setOutline("");

  const toSource = (event: PointerEvent): Point => viewport.toSource(event.clientX, event.clientY);

  const moveCursor = (event: PointerEvent | null) => {
    const source = options.source();
    const brush = options.brush();
    if (!event || !source || event.pointerType === "touch" || brush.tool !== "brush") {
      cursor.hidden = true;
      return;
    }
    const rect = surface.getBoundingClientRect();
    const diameter = 2 * brush.radius * viewport.view.zoom;
    cursor.hidden = false;
    cursor.style.width = cursor.style.height = `${diameter}px`;
    cursor.style.left = `${event.clientX - rect.left - surface.clientLeft}px`;
    cursor.style.top = `${event.clientY - rect.top - surface.clientTop}px`;
    const mode = drag?.kind === "brush" ? drag.builder.mode : brush.mode;
    cursor.classList.toggle("afs-erasing", mode === "erase");
  };

  const drawPolygonOutline = () => {
    if (!polygon) return setOutline("");
    const points = polygon.hover ? [...polygon.builder.points, polygon.hover] : polygon.builder.points;
    setOutline(svgPath(points, false));
  };

  const finishPolygon = () => {
    if (!polygon) return;
    const op = polygon.builder.build(polygon.mode);
    const points = polygon.builder.points.slice();
    polygon = null;
    setOutline("");
    if (!op) return;
    layer.beginLive();
    layer.drawShape("polygon", points, op.mode);
    options.send(op);
    layer.endLive(true);
  };

  const cancel = () => {
    if (drag) {
      if (surface.hasPointerCapture?.(drag.id)) surface.releasePointerCapture(drag.id);
      drag = null;
      layer.endLive(false);
    }
    polygon = null;
    setOutline("");
  };

  cleanups.listen<PointerEvent>(surface, "pointerdown", (event) => {
    const source = options.source();
    if (!source || drag || !event.isPrimary) return;
    if (event.pointerType === "mouse" && event.button !== 0) return;
    event.preventDefault(); // no text selection, no emulated mouse events
    options.focus();
    const brush = options.brush();
    const point = toSource(event);
    const eraser = event.button === PEN_ERASER_BUTTON || (event.buttons & PEN_ERASER_BIT) !== 0;
    const mode: Mode = eraser ? "erase" : modeFor(brush.mode, event);
    if (brush.tool === "color") {
      options.send(colorEdit(point, brush.tolerance, brush.contiguous, mode));
      layer.expectPatch();
      return;
    }
    if (brush.tool === "polygon") {
      if (!polygon) polygon = { builder: new PolygonBuilder(), mode, hover: null };
      polygon.builder.add(point, 3 / viewport.view.zoom);
      drawPolygonOutline();
      return;
    }
    surface.setPointerCapture(event.pointerId);
    if (brush.tool === "brush") {
      const builder = new StrokeBuilder(brush.radius, mode);
      drag = { kind: "brush", id: event.pointerId, builder };
      layer.beginLive();
      const segment = builder.add(point);
      if (segment) layer.drawStroke(segment[0], segment[1], builder.radius, builder.mode);
    } else if (brush.tool === "lasso") {
      const builder = new LassoBuilder(Math.max(0.5, 1 / viewport.view.zoom), Math.min(0.5, 0.25 / viewport.view.zoom));
      builder.add(point);
      drag = { kind: "lasso", id: event.pointerId, mode, builder };
    } else {
      drag = { kind: brush.tool, id: event.pointerId, mode, start: point, end: point };
    }
    moveCursor(event);
  });

  cleanups.listen<PointerEvent>(surface, "pointermove", (event) => {
    lastPointer = event;
    moveCursor(event);
    if (polygon && !drag) {
      polygon.hover = toSource(event);
      drawPolygonOutline();
      return;
    }
    if (!drag || event.pointerId !== drag.id) return;
    // A pen reports more positions than animation frames; take them all for a smooth line.
    const events = typeof event.getCoalescedEvents === "function" ? event.getCoalescedEvents() : [];
    const positions = (events.length ? events : [event]).map(toSource);
    if (drag.kind === "brush") {
      for (const point of positions) {
        const segment = drag.builder.add(point);
        if (segment) layer.drawStroke(segment[0], segment[1], drag.builder.radius, drag.builder.mode);
      }
    } else if (drag.kind === "lasso") {
      let changed = false;
      for (const point of positions) changed = drag.builder.add(point) || changed;
      if (changed) setOutline(svgPath(drag.builder.points, true));
    } else {
      drag.end = positions[positions.length - 1];
      setOutline(boxPath(drag.kind, drag.start, drag.end));
    }
  });

  const finish = (event: PointerEvent) => {
    if (!drag || event.pointerId !== drag.id) return;
    const done = drag;
    drag = null;
    if (surface.hasPointerCapture(event.pointerId)) surface.releasePointerCapture(event.pointerId);
    setOutline("");
    if (done.kind === "brush") {
      const segment = done.builder.flush();
      if (segment) layer.drawStroke(segment[0], segment[1], done.builder.radius, done.builder.mode);
      const op = done.builder.build();
      if (op) options.send(op);
      layer.endLive(op !== null);
      return;
    }
    if (done.kind === "lasso") {
      done.builder.add(toSource(event));
      const op = done.builder.build(done.mode);
      if (!op) return;
      const points: Point[] = [];
      for (let i = 0; i + 1 < op.points.length; i += 2) points.push([op.points[i], op.points[i + 1]]);
      layer.beginLive();
      layer.drawShape("polygon", points, op.mode);
      options.send(op);
      layer.endLive(true);
      return;
    }
    const op = boxEdit(done.kind, done.start, toSource(event), done.mode);
    if (!op) return;
    layer.beginLive();
    layer.drawShape(done.kind, [[op.box[0], op.box[1]], [op.box[2], op.box[3]]], op.mode);
    options.send(op);
    layer.endLive(true);
  };

  const abandon = (event: PointerEvent) => {
    if (drag && event.pointerId === drag.id) cancel();
  };

  cleanups.listen<PointerEvent>(surface, "pointerup", finish);
  cleanups.listen<PointerEvent>(surface, "pointercancel", abandon);
  // Capture lost without pointerup (e.g. the element was re-parented): keep nothing half drawn.
  cleanups.listen<PointerEvent>(surface, "lostpointercapture", abandon);
  cleanups.listen<PointerEvent>(surface, "pointerleave", () => {
    if (!drag) cursor.hidden = true;
  });
  cleanups.listen(surface, "dblclick", (event) => {
    if (!polygon) return;
    event.preventDefault();
    finishPolygon();
  });
  cleanups.listen(surface, "contextmenu", (event) => event.preventDefault());

  return {
    cancel,
    key: (event) => {
      if (!polygon) return false;
      if (event.key === "Enter") finishPolygon();
      else if (event.key === "Escape") cancel();
      else if (event.key === "Backspace") {
        polygon.builder.removeLast();
        if (polygon.builder.points.length === 0) cancel();
        else drawPolygonOutline();
      } else return false;
      return true;
    },
    refresh: () => {
      setLineScale();
      moveCursor(lastPointer);
    },
  };
}

/** The live outline of a rectangle or ellipse between two corners, as an SVG path. */
function boxPath(kind: "rect" | "ellipse", a: Point, b: Point): string {
  const [x0, y0, x1, y1] = [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[0], b[0]), Math.max(a[1], b[1])];
  if (kind === "rect") return svgPath([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], true);
  const [cx, cy, rx, ry] = [(x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2];
  if (rx <= 0 || ry <= 0) return "";
  return `M${(cx - rx).toFixed(2)} ${cy.toFixed(2)} a${rx.toFixed(2)} ${ry.toFixed(2)} 0 1 0 ${(2 * rx).toFixed(2)} 0 a${rx.toFixed(2)} ${ry.toFixed(2)} 0 1 0 ${(-2 * rx).toFixed(2)} 0 Z`;
}
