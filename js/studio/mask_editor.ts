// The mask panel: the zoomable stage (image, sharp view crop, mask layer, outline,
// live selection outline, brush cursor), the toolbar and the keyboard shortcuts.
// Python holds the mask: edits, undo and redo are sent as messages, and the layer
// shows Python's `mask` patches (mask_layer.ts).
import { UrlCache } from "../shared/bytes";
import { Cleanups, h, isTextEntry } from "../shared/dom";
import type { Size } from "./geometry";
import type { MaskLayer } from "./mask_layer";
import { list, watch } from "./model";
import { shortcutFor, stepRadius } from "./shortcuts";
import { toolbar } from "./toolbar";
import { attachTools } from "./tools";
import type { Brush, Model, Op, ViewMessage } from "./types";
import { ViewCrop } from "./view_crop";
import { Viewport } from "./viewport";

export const DEFAULT_BRUSH: Brush = {
  tool: "brush",
  radius: 24,
  mode: "paint",
  opacity: 0.5,
  visible: true,
  colour: "#ff00ff",
  outline: false,
  tolerance: 32,
  contiguous: true,
};

export function brushOf(model: Model): Brush {
  return { ...DEFAULT_BRUSH, ...(model.get("brush") ?? {}) };
}

/** Brush radius bounds (source pixels) for a source of this size. */
export function radiusBounds(source: Size | null): { min: number; max: number } {
  const longEdge = source ? Math.max(source.width, source.height) : 1024;
  return { min: 1, max: Math.max(16, Math.round(longEdge / 6)) };
}

export type MaskEditor = { element: HTMLElement; onView: (message: ViewMessage, buffers: DataView[]) => void };

export function maskEditor(model: Model, root: HTMLElement, layer: MaskLayer, cleanups: Cleanups): MaskEditor {
  const urls = new UrlCache();
  cleanups.add(() => urls.clear());

  const source = (): Size | null => {
    const first = list(model, "source_cards")[0];
    return first && first.width > 0 && first.height > 0 ? { width: first.width, height: first.height } : null;
  };
  const canvasSize = (): Size => {
    const [width, height] = model.get("canvas_size") ?? [0, 0];
    return { width: width ?? 0, height: height ?? 0 };
  };
  const setBrush = (change: Partial<Brush>, save = true) => {
    model.set("brush", { ...brushOf(model), ...change });
    if (save) model.save_changes();
  };
  const send = (op: Op) => model.send({ type: "mask_edit", edit: op });
  const step = (type: "mask_undo" | "mask_redo") => {
    model.send({ type });
    layer.expectPatch();
  };

  // --- the stage: one CSS pixel per source pixel, zoomed by the viewport's transform
  const image = h("img", { class: "afs-canvas-image", "data-testid": "canvas-image", alt: "Primary source image", draggable: "false" });
  const shape = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  shape.setAttribute("class", "afs-selection");
  shape.setAttribute("data-testid", "selection-shape");
  shape.setAttribute("aria-hidden", "true");
  shape.setAttribute("preserveAspectRatio", "none");
  const stage = h(
    "div",
    { class: "afs-stage", "data-testid": "canvas", role: "img", "aria-label": "Mask canvas: drag to mark the area to edit" },
    image,
  );
  const cursor = h("div", { class: "afs-brush-cursor", "aria-hidden": "true", hidden: true });
  let tools: ReturnType<typeof attachTools> | null = null;
  const viewport = new Viewport(stage, () => tools?.cancel(), cleanups);
  const crop = new ViewCrop(
    viewport,
    () => {
      const s = source();
      const card = list(model, "source_cards")[0];
      return s && card ? { ...s, key: `${card.id}:${s.width}x${s.height}` } : null;
    },
    () => {
      const s = source();
      return s ? canvasSize().width / s.width : 1;
    },
    (message) => model.send(message),
    cleanups,
  );
  stage.append(crop.image, layer.canvas, layer.outline, shape, layer.send);
  viewport.element.append(cursor);

  const bar = toolbar(
    viewport,
    {
      setBrush,
      undo: () => step("mask_undo"),
      redo: () => step("mask_redo"),
      clear: () => send({ op: "clear" }),
      invert: () => send({ op: "invert" }),
    },
    cleanups,
  );

  const empty = h("p", { class: "afs-empty", "data-testid": "mask-empty" }, "Add a source image to paint a mask on it: the painted area is what the model may change.");
  const panel = h(
    "section",
    { class: "afs-panel afs-mask-editor", "data-testid": "mask-editor", "aria-label": "Mask editor" },
    h("h3", {}, "Mask"),
    empty,
    bar.element,
    viewport.element,
  );

  // --- model -> view
  watch(model, ["canvas_image"], () => {
    const url = urls.get("canvas", model.get("canvas_image"));
    if (url) image.src = url;
    else image.removeAttribute("src");
    crop.checkSource();
  }, cleanups);

  // The outline is about one screen pixel wide whatever the zoom.
  const outlineThickness = () => {
    const s = source();
    const canvasPerCss = s ? canvasSize().width / s.width / viewport.view.zoom : 1;
    return Math.max(1, Math.round(canvasPerCss));
  };
  const style = () => {
    const brush = brushOf(model);
    layer.setStyle(brush.colour, brush.outline, outlineThickness());
  };

  const geometry = () => {
    const s = source();
    const has = s !== null && canvasSize().width > 0;
    empty.hidden = has;
    bar.element.hidden = viewport.element.hidden = !has;
    layer.setGeometry(canvasSize(), s ?? canvasSize());
    const bounds = radiusBounds(s);
    bar.setRadiusBounds(bounds.min, bounds.max);
    if (s) viewport.setSource(s);
    crop.checkSource();
    style();
  };
  watch(model, ["canvas_size", "source_cards"], geometry, cleanups);
  watch(model, ["mask_history"], () => bar.setHistory(model.get("mask_history") ?? { undo: 0, redo: 0 }), cleanups);

  let outlineTimer: ReturnType<typeof setTimeout> | undefined;
  cleanups.add(() => clearTimeout(outlineTimer));
  viewport.onChange(() => {
    tools?.refresh();
    clearTimeout(outlineTimer);
    outlineTimer = setTimeout(style, 200); // a new outline width once the zoom settles
  });

  watch(model, ["brush"], () => {
    const brush = brushOf(model);
    bar.update(brush);
    const mask = [layer.canvas, layer.outline];
    for (const c of mask) c.style.opacity = String(brush.opacity);
    layer.outline.style.opacity = String(Math.max(0.6, brush.opacity));
    for (const c of mask) c.style.visibility = brush.visible ? "visible" : "hidden";
    viewport.element.dataset.tool = brush.tool;
    style();
  }, cleanups);

  // --- view -> model
  tools = attachTools(
    { viewport, cursor, shape, layer, source, brush: () => brushOf(model), send, focus: () => root.focus({ preventScroll: true }) },
    cleanups,
  );
  let lastTool = brushOf(model).tool;
  watch(model, ["brush"], () => {
    const tool = brushOf(model).tool;
    if (tool !== lastTool) tools?.cancel(); // a polygon half clicked belongs to the old tool
    lastTool = tool;
  }, cleanups);

  cleanups.listen<KeyboardEvent>(root, "keydown", (event) => {
    if (isTextEntry(event.target) || !source()) return;
    if (event.key === " " && !event.ctrlKey && !event.metaKey) {
      event.preventDefault(); // no page scroll: Space+drag pans
      viewport.setSpace(true);
      return;
    }
    if (tools?.key(event)) {
      event.preventDefault();
      return;
    }
    if ((event.key === "+" || event.key === "=" || event.key === "-") && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      viewport.zoomBy(event.key === "-" ? 0.5 : 2);
      return;
    }
    const shortcut = shortcutFor(event);
    if (!shortcut) return;
    event.preventDefault();
    const brush = brushOf(model);
    if (shortcut.action === "undo") step("mask_undo");
    else if (shortcut.action === "redo") step("mask_redo");
    else if (shortcut.action === "fit") viewport.fit();
    else if (shortcut.action === "actual-size") viewport.actualSize();
    else if (shortcut.action === "tool") setBrush({ tool: shortcut.tool });
    else if (shortcut.action === "swap-mode") setBrush({ mode: brush.mode === "paint" ? "erase" : "paint" });
    else {
      const bounds = radiusBounds(source());
      setBrush({ radius: stepRadius(brush.radius, shortcut.action === "bigger" ? 1 : -1, bounds.min, bounds.max) });
    }
  });
  cleanups.listen<KeyboardEvent>(root, "keyup", (event) => {
    if (event.key !== " " || isTextEntry(event.target) || !source()) return;
    event.preventDefault(); // Space released over a toolbar button does not press it
    viewport.setSpace(false);
  });
  cleanups.listen(window, "blur", () => viewport.setSpace(false));

  if (typeof ResizeObserver === "function") {
    const observer = new ResizeObserver(() => viewport.layout());
    observer.observe(panel);
    cleanups.add(() => observer.disconnect());
  }
  cleanups.listen(window, "resize", () => viewport.layout());
  return { element: panel, onView: (message, buffers) => crop.onAnswer(message, buffers) };
}
