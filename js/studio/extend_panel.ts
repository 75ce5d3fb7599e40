// "Extend canvas" (outpainting, js/README.md "Outpainting"): pixels to add on each side
// or an aspect ratio to reach, how the new area is filled, and how far the mask reaches
// back into the picture. Python sizes, snaps and builds the new primary (`extend`).
import { Cleanups, h } from "../shared/dom";
import type { Model } from "./types";

export const ASPECTS = ["", "1:1", "4:3", "3:2", "16:9", "21:9", "3:4", "2:3", "9:16"];
const MAX_SIDE = 3840; // px: Python refuses more (studio/_limits.py)
const MAX_OVERLAP = 256;

/** The `extend` message from the fields' texts: only the fields set, sides as whole pixels within bounds. */
export function extendMessage(fields: { left: string; top: string; right: string; bottom: string; aspect: string; fill: string; overlap: string }): Record<string, unknown> {
  const message: Record<string, unknown> = { type: "extend" };
  const whole = (text: string, most: number) => {
    const value = Math.round(Number(text.trim()));
    return text.trim() === "" || !Number.isFinite(value) ? null : Math.min(most, Math.max(0, value));
  };
  for (const side of ["left", "top", "right", "bottom"] as const) {
    const value = whole(fields[side], MAX_SIDE);
    if (value) message[side] = value;
  }
  if (fields.aspect) message.aspect = fields.aspect;
  if (fields.fill) message.fill = fields.fill;
  const overlap = whole(fields.overlap, MAX_OVERLAP);
  if (overlap !== null) message.overlap = overlap;
  return message;
}

export function extendPanel(model: Model, cleanups: Cleanups): HTMLElement {
  const side = (name: string, label: string) =>
    h("input", { type: "number", min: 0, max: MAX_SIDE, step: 16, placeholder: "0", class: "afs-number", "data-testid": `extend-${name}`, "aria-label": `Pixels to add on the ${label}` });
  const left = side("left", "left");
  const top = side("top", "top");
  const right = side("right", "right");
  const bottom = side("bottom", "bottom");
  const aspect = h(
    "select",
    { "data-testid": "extend-aspect", "aria-label": "Extend to this aspect ratio" },
    ...ASPECTS.map((value) => h("option", { value }, value === "" ? "by the sides" : value)),
  );
  const fill = h(
    "select",
    { "data-testid": "extend-fill", "aria-label": "Fill the new area with" },
    h("option", { value: "transparent" }, "transparent"),
    h("option", { value: "edge" }, "edge pixels"),
  );
  const overlap = h("input", { type: "number", min: 0, max: MAX_OVERLAP, step: 1, value: 16, class: "afs-number", "data-testid": "extend-overlap", "aria-label": "Mask overlap into the picture in pixels" });
  const apply = h("button", { type: "button", "data-testid": "extend-apply", title: "Make a larger primary source; the new area becomes the mask" }, "Extend");
  cleanups.listen(apply, "click", () => {
    model.send(
      extendMessage({ left: left.value, top: top.value, right: right.value, bottom: bottom.value, aspect: aspect.value, fill: fill.value, overlap: overlap.value }),
    );
  });
  const field = (label: string, input: HTMLElement) => h("label", { class: "afs-inline" }, h("span", {}, label), input);
  return h(
    "details",
    { class: "afs-panel afs-extend", "data-testid": "extend-panel" },
    h("summary", {}, "Extend canvas (outpaint)"),
    h("div", { class: "afs-extend-sides" }, field("Left", left), field("Top", top), field("Right", right), field("Bottom", bottom)),
    h("div", { class: "afs-extend-sides" }, field("or aspect", aspect), field("Fill", fill), field("Overlap (px)", overlap)),
    h("div", { class: "afs-run-row" }, apply),
  );
}
