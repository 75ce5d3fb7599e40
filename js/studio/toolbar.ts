// The mask editor's toolbar: tools, paint/erase, brush size, colour select's
// tolerance, undo/redo, clear/invert, zoom, overlay opacity, colour and outline.
// Every value lives in the model (`brush`, `mask_history`); this only shows it and
// reports clicks.
import type { Cleanups } from "../shared/dom";
import { h } from "../shared/dom";
import type { Brush, Tool } from "./types";
import type { Viewport } from "./viewport";

export const TOOLS: Array<{ tool: Tool; label: string; title: string }> = [
  { tool: "brush", label: "Brush", title: "Brush: paint the area to edit (B)" },
  { tool: "rect", label: "Rect", title: "Rectangle select: drag a box (R; Shift adds, Alt subtracts)" },
  { tool: "ellipse", label: "Ellipse", title: "Ellipse select: drag a box (E; Shift adds, Alt subtracts)" },
  { tool: "lasso", label: "Lasso", title: "Lasso: draw a closed shape freehand (L)" },
  { tool: "polygon", label: "Polygon", title: "Polygon: click corners; double-click or Enter closes, Escape cancels, Backspace removes a corner (P)" },
  { tool: "color", label: "Colour", title: "Colour select: click a colour (W; Shift adds, Alt subtracts)" },
];

export const OVERLAY_COLOURS: Array<[string, string]> = [
  ["#ff00ff", "Magenta"],
  ["#00e5ff", "Cyan"],
  ["#ffea00", "Yellow"],
  ["#00e676", "Green"],
  ["#ff1744", "Red"],
  ["#2979ff", "Blue"],
];

export type ToolbarActions = {
  setBrush: (change: Partial<Brush>, save?: boolean) => void;
  undo: () => void;
  redo: () => void;
  clear: () => void;
  invert: () => void;
};

export type Toolbar = {
  element: HTMLElement;
  update: (brush: Brush) => void;
  setHistory: (history: { undo: number; redo: number }) => void;
  setRadiusBounds: (min: number, max: number) => void;
};

export function toolbar(viewport: Viewport, actions: ToolbarActions, cleanups: Cleanups): Toolbar {
  const button = (testid: string, label: string, title: string, toggle = false) =>
    h("button", { type: "button", class: toggle ? "afs-toggle" : null, "data-testid": testid, title }, label);
  const tools = TOOLS.map(({ tool, label, title }) => {
    const element = button(`tool-${tool}`, label, title, true);
    cleanups.listen(element, "click", () => actions.setBrush({ tool }));
    return { tool, element };
  });
  const paint = button("brush-paint", "Paint", "Paint: mark the area to edit (X swaps)", true);
  const erase = button("brush-erase", "Erase", "Erase: keep this area (X swaps)", true);
  const size = h("input", { type: "range", min: 1, max: 100, step: 1, "data-testid": "brush-size", "aria-label": "Brush size in source pixels (keys [ and ])" });
  const sizeValue = h("output", { class: "afs-value", "data-testid": "brush-size-value" });
  const sizeField = h("label", { class: "afs-inline" }, h("span", {}, "Size"), size, sizeValue);
  const tolerance = h("input", { type: "number", min: 0, max: 255, step: 1, class: "afs-number", "data-testid": "color-tolerance", "aria-label": "Colour select tolerance (0 to 255)" });
  const contiguous = h("input", { type: "checkbox", "data-testid": "color-contiguous" });
  const colorFields = h(
    "span",
    { class: "afs-group afs-color-fields" },
    h("label", { class: "afs-inline", title: "How far each of R, G, B, A may differ from the clicked pixel" }, h("span", {}, "Tolerance"), tolerance),
    h("label", { class: "afs-inline", title: "Only pixels connected to the clicked one" }, contiguous, h("span", {}, "Contiguous")),
  );
  const undo = button("mask-undo", "Undo", "Undo (Ctrl+Z)");
  const redo = button("mask-redo", "Redo", "Redo (Ctrl+Shift+Z or Ctrl+Y)");
  const clear = button("mask-clear", "Clear", "Clear the mask");
  const invert = button("mask-invert", "Invert", "Swap the area to edit and the area to keep");
  const opacity = h("input", { type: "range", min: 0, max: 1, step: 0.05, "data-testid": "mask-opacity", "aria-label": "Mask overlay opacity" });
  const hide = h("input", { type: "checkbox", "data-testid": "mask-hide" });
  const colour = h(
    "select",
    { "data-testid": "overlay-colour", "aria-label": "Overlay colour" },
    ...OVERLAY_COLOURS.map(([value, name]) => h("option", { value }, name)),
  );
  const outline = h("input", { type: "checkbox", "data-testid": "overlay-outline" });

  const element = h(
    "div",
    { class: "afs-toolbar", role: "toolbar", "aria-label": "Mask tools" },
    h("span", { class: "afs-group", role: "group", "aria-label": "Tool" }, ...tools.map((t) => t.element)),
    h("span", { class: "afs-group", role: "group", "aria-label": "Mode" }, paint, erase),
    sizeField,
    colorFields,
    h("span", { class: "afs-group" }, undo, redo),
    h("span", { class: "afs-group" }, clear, invert),
    h("span", { class: "afs-group afs-zoom-group", role: "group", "aria-label": "Zoom (Ctrl+wheel or pinch; Space+drag pans)" }, viewport.fitButton, viewport.actualButton, viewport.readout),
    h("label", { class: "afs-inline" }, h("span", {}, "Opacity"), opacity),
    h("label", { class: "afs-inline" }, h("span", {}, "Overlay"), colour),
    h("label", { class: "afs-inline", title: "Show only the mask's edge" }, outline, h("span", {}, "Outline")),
    h("label", { class: "afs-inline" }, hide, h("span", {}, "Hide mask")),
  );

  cleanups.listen(paint, "click", () => actions.setBrush({ mode: "paint" }));
  cleanups.listen(erase, "click", () => actions.setBrush({ mode: "erase" }));
  cleanups.listen(size, "input", () => actions.setBrush({ radius: Number(size.value) }, false));
  cleanups.listen(size, "change", () => actions.setBrush({ radius: Number(size.value) }));
  cleanups.listen(tolerance, "change", () => {
    const value = Math.round(Number(tolerance.value));
    actions.setBrush({ tolerance: Number.isFinite(value) ? Math.min(255, Math.max(0, value)) : 32 });
  });
  cleanups.listen(contiguous, "change", () => actions.setBrush({ contiguous: contiguous.checked }));
  cleanups.listen(opacity, "input", () => actions.setBrush({ opacity: Number(opacity.value) }, false));
  cleanups.listen(opacity, "change", () => actions.setBrush({ opacity: Number(opacity.value) }));
  cleanups.listen(hide, "change", () => actions.setBrush({ visible: !hide.checked }));
  cleanups.listen(colour, "change", () => actions.setBrush({ colour: colour.value }));
  cleanups.listen(outline, "change", () => actions.setBrush({ outline: outline.checked }));
  cleanups.listen(undo, "click", actions.undo);
  cleanups.listen(redo, "click", actions.redo);
  cleanups.listen(clear, "click", actions.clear);
  cleanups.listen(invert, "click", actions.invert);

  return {
    element,
    update: (brush) => {
      for (const t of tools) t.element.setAttribute("aria-pressed", String(brush.tool === t.tool));
      paint.setAttribute("aria-pressed", String(brush.mode === "paint"));
      erase.setAttribute("aria-pressed", String(brush.mode === "erase"));
      sizeField.hidden = brush.tool !== "brush";
      colorFields.hidden = brush.tool !== "color";
      size.value = String(brush.radius);
      sizeValue.textContent = `${Math.round(brush.radius)} px`;
      if (document.activeElement !== tolerance) tolerance.value = String(brush.tolerance);
      contiguous.checked = brush.contiguous;
      opacity.value = String(brush.opacity);
      hide.checked = !brush.visible;
      if (!OVERLAY_COLOURS.some(([value]) => value === brush.colour)) colour.append(h("option", { value: brush.colour }, brush.colour));
      colour.value = brush.colour;
      outline.checked = brush.outline;
    },
    setHistory: (history) => {
      undo.disabled = !(history.undo > 0);
      redo.disabled = !(history.redo > 0);
    },
    setRadiusBounds: (min, max) => {
      size.min = String(min);
      size.max = String(max);
    },
  };
}
