// The mask editor panel: the primary image with the mask layer over it, the brush
// toolbar (paint/erase, size, undo/redo, clear, invert, opacity, hide) and shortcuts.
import { attachBrush, shortcutFor, stepRadius } from "./brush";
import { UrlCache, decodeImage, sameBytes } from "../shared/bytes";
import { Cleanups, h, isTextEntry } from "../shared/dom";
import type { Size } from "./geometry";
import { fitToBox } from "./geometry";
import type { History } from "./history";
import { canRedo, canUndo, pushOp, redo, undo } from "./history";
import { MaskLayer } from "./mask_layer";
import { commit, list, watch } from "./model";
import type { Brush, Bytes, Model, Op } from "./types";

const DEFAULT_BRUSH: Brush = { radius: 24, mode: "paint", opacity: 0.5, visible: true };

export function brushOf(model: Model): Brush {
  return { ...DEFAULT_BRUSH, ...(model.get("brush") ?? {}) };
}

/** Brush radius bounds (source pixels) for a source of this size. */
export function radiusBounds(source: Size | null): { min: number; max: number } {
  const longEdge = source ? Math.max(source.width, source.height) : 1024;
  return { min: 1, max: Math.max(16, Math.round(longEdge / 6)) };
}

export function maskEditor(model: Model, root: HTMLElement, cleanups: Cleanups): HTMLElement {
  const urls = new UrlCache();
  cleanups.add(() => urls.clear());
  const layer = new MaskLayer();

  const history = (): History => ({ mask_edits: list(model, "mask_edits"), mask_redo: list(model, "mask_redo") });
  const setHistory = (next: History) => {
    if (next !== history()) commit(model, { mask_edits: next.mask_edits, mask_redo: next.mask_redo });
  };
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

  // --- the image and its mask
  const image = h("img", { class: "afs-canvas-image", "data-testid": "canvas-image", alt: "Primary source image", draggable: "false" });
  const cursor = h("div", { class: "afs-brush-cursor", "aria-hidden": "true", hidden: true });
  const surface = h(
    "div",
    { class: "afs-stage", "data-testid": "canvas", role: "img", "aria-label": "Mask canvas: drag to paint the area to edit" },
    image,
    layer.canvas,
    cursor,
  );
  const stageBox = h("div", { class: "afs-stage-box" }, surface);

  // --- the toolbar
  const paint = h("button", { type: "button", class: "afs-toggle", "data-testid": "brush-paint", title: "Paint: mark the area to edit" }, "Paint");
  const erase = h("button", { type: "button", class: "afs-toggle", "data-testid": "brush-erase", title: "Erase: keep this area" }, "Erase");
  const size = h("input", { type: "range", min: 1, max: 100, step: 1, "data-testid": "brush-size", "aria-label": "Brush size in source pixels (keys [ and ])" });
  const sizeValue = h("output", { class: "afs-value", "data-testid": "brush-size-value" });
  const undoButton = h("button", { type: "button", "data-testid": "mask-undo", title: "Undo (Ctrl+Z)" }, "Undo");
  const redoButton = h("button", { type: "button", "data-testid": "mask-redo", title: "Redo (Ctrl+Shift+Z or Ctrl+Y)" }, "Redo");
  const clear = h("button", { type: "button", "data-testid": "mask-clear", title: "Clear the mask" }, "Clear");
  const invert = h("button", { type: "button", "data-testid": "mask-invert", title: "Swap the area to edit and the area to keep" }, "Invert");
  const opacity = h("input", { type: "range", min: 0, max: 1, step: 0.05, "data-testid": "mask-opacity", "aria-label": "Mask overlay opacity" });
  const hide = h("input", { type: "checkbox", "data-testid": "mask-hide" });
  const toolbar = h(
    "div",
    { class: "afs-toolbar", role: "toolbar", "aria-label": "Mask brush" },
    h("span", { class: "afs-group", role: "group", "aria-label": "Brush mode" }, paint, erase),
    h("label", { class: "afs-inline" }, h("span", {}, "Size"), size, sizeValue),
    h("span", { class: "afs-group" }, undoButton, redoButton),
    h("span", { class: "afs-group" }, clear, invert),
    h("label", { class: "afs-inline" }, h("span", {}, "Opacity"), opacity),
    h("label", { class: "afs-inline" }, hide, h("span", {}, "Hide mask")),
  );

  const empty = h("p", { class: "afs-empty", "data-testid": "mask-empty" }, "Add a source image to paint a mask on it: the painted area is what the model may change.");
  const panel = h(
    "section",
    { class: "afs-panel afs-mask-editor", "data-testid": "mask-editor", "aria-label": "Mask editor" },
    h("h3", {}, "Mask"),
    empty,
    toolbar,
    stageBox,
  );

  // --- model -> view
  const fit = () => {
    const canvas = canvasSize();
    const box = { width: stageBox.clientWidth || 480, height: Math.max(240, Math.min(window.innerHeight * 0.6, 640)) };
    const shown = fitToBox(canvas, box, true);
    surface.style.width = `${Math.floor(shown.width)}px`;
    surface.style.height = `${Math.floor(shown.height)}px`;
  };

  watch(model, ["canvas_image"], () => {
    const url = urls.get("canvas", model.get("canvas_image"));
    if (url) image.src = url;
    else image.removeAttribute("src");
  }, cleanups);

  const geometry = () => {
    const has = source() !== null && canvasSize().width > 0;
    empty.hidden = has;
    toolbar.hidden = stageBox.hidden = !has;
    layer.setGeometry(canvasSize(), source() ?? canvasSize(), list(model, "mask_edits"));
    const bounds = radiusBounds(source());
    size.min = String(bounds.min);
    size.max = String(bounds.max);
    fit();
  };
  watch(model, ["canvas_size", "source_cards"], geometry, cleanups);

  // base_mask arrives as PNG bytes; decoding is async, so a newer one may overtake it.
  let baseBytes: Bytes = null;
  let baseToken = 0;
  watch(model, ["base_mask"], () => {
    const bytes = model.get("base_mask");
    if (sameBytes(bytes, baseBytes)) return;
    baseBytes = bytes;
    const token = ++baseToken;
    decodeImage(bytes)
      .then((bitmap) => {
        if (token === baseToken) layer.setBase(bitmap, list(model, "mask_edits"));
      })
      .catch((error) => console.error("anyfast-studio: base_mask is not an image", error));
  }, cleanups);

  watch(model, ["mask_edits", "mask_redo"], () => {
    layer.setOps(list(model, "mask_edits"));
    undoButton.disabled = !canUndo(history());
    redoButton.disabled = !canRedo(history());
  }, cleanups);

  watch(model, ["brush"], () => {
    const brush = brushOf(model);
    paint.setAttribute("aria-pressed", String(brush.mode === "paint"));
    erase.setAttribute("aria-pressed", String(brush.mode === "erase"));
    size.value = String(brush.radius);
    sizeValue.textContent = `${Math.round(brush.radius)} px`;
    opacity.value = String(brush.opacity);
    hide.checked = !brush.visible;
    layer.canvas.style.opacity = String(brush.opacity);
    layer.canvas.style.visibility = brush.visible ? "visible" : "hidden";
  }, cleanups);

  // --- view -> model
  attachBrush(
    {
      surface,
      cursor,
      layer,
      source,
      brush: () => brushOf(model),
      onStroke: (op) => setHistory(pushOp(history(), op)),
      focus: () => root.focus({ preventScroll: true }),
    },
    cleanups,
  );

  const addOp = (op: Op) => setHistory(pushOp(history(), op));
  cleanups.listen(paint, "click", () => setBrush({ mode: "paint" }));
  cleanups.listen(erase, "click", () => setBrush({ mode: "erase" }));
  cleanups.listen(size, "input", () => setBrush({ radius: Number(size.value) }, false));
  cleanups.listen(size, "change", () => setBrush({ radius: Number(size.value) }));
  cleanups.listen(opacity, "input", () => setBrush({ opacity: Number(opacity.value) }, false));
  cleanups.listen(opacity, "change", () => setBrush({ opacity: Number(opacity.value) }));
  cleanups.listen(hide, "change", () => setBrush({ visible: !hide.checked }));
  cleanups.listen(undoButton, "click", () => setHistory(undo(history())));
  cleanups.listen(redoButton, "click", () => setHistory(redo(history())));
  cleanups.listen(clear, "click", () => addOp({ op: "clear" }));
  cleanups.listen(invert, "click", () => addOp({ op: "invert" }));

  cleanups.listen<KeyboardEvent>(root, "keydown", (event) => {
    if (isTextEntry(event.target) || !source()) return;
    const action = shortcutFor(event);
    if (!action) return;
    event.preventDefault();
    if (action === "undo") setHistory(undo(history()));
    else if (action === "redo") setHistory(redo(history()));
    else {
      const bounds = radiusBounds(source());
      setBrush({ radius: stepRadius(brushOf(model).radius, action === "bigger" ? 1 : -1, bounds.min, bounds.max) });
    }
  });

  if (typeof ResizeObserver === "function") {
    const observer = new ResizeObserver(() => fit());
    observer.observe(stageBox);
    cleanups.add(() => observer.disconnect());
  }
  cleanups.listen(window, "resize", fit);
  return panel;
}
