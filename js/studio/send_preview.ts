// "What will be sent": canvas_image with the mask to send cut out (alpha 0, over a
// checkerboard), drawn here from the send-mask canvas one patch box at a time; the
// coverage, the mask checks, and the mask tools (grow/shrink, feather, keep outside)
// that change it. `data-mask-version` on the preview is the version of the last
// patch drawn (tests and the benchmark time pointer-up -> preview with it).
import type { Box } from "./bits";
import { decodeImage } from "../shared/bytes";
import { Cleanups, h, setChildren } from "../shared/dom";
import type { MaskLayer } from "./mask_layer";
import { list, watch } from "./model";
import type { MaskTools, Model } from "./types";
import type { ViolationSlots } from "./violations";

export type SendPreview = { element: HTMLElement; update: (box: Box | null) => void };

const DEFAULT_TOOLS: MaskTools = { grow: 0, feather: 0, keep_outside: false };
const MAX_GROW = 64; // px, both ways: Python refuses more (studio/_limits.py)
const MAX_FEATHER = 256; // px

export function sendPreview(model: Model, layer: MaskLayer, violations: ViolationSlots, cleanups: Cleanups): SendPreview {
  const image = h("canvas", {
    class: "afs-send-image",
    "data-testid": "send-preview",
    role: "img",
    "aria-label": "The primary image as it will be sent: the checkerboard shows the area the model may change",
  });
  const ctx = image.getContext("2d")!;
  const none = h("p", { class: "afs-empty", "data-testid": "send-preview-empty" }, "No mask: the whole image may change.");
  const coverage = h("p", { class: "afs-coverage", "data-testid": "coverage" });
  const checks = h("ul", { class: "afs-checks", "data-testid": "mask-checks", "aria-label": "Mask checks" });

  const grow = h("input", { type: "number", step: 1, min: -MAX_GROW, max: MAX_GROW, "data-testid": "mask-grow", "aria-label": "Grow the mask by this many pixels (negative shrinks)" });
  const growRange = h("input", { type: "range", step: 1, min: -64, max: 64, "data-testid": "mask-grow-range", "aria-label": "Grow or shrink the mask" });
  const feather = h("input", { type: "number", step: 1, min: 0, max: MAX_FEATHER, "data-testid": "mask-feather", "aria-label": "Feather the seam by this many pixels" });
  const featherRange = h("input", { type: "range", step: 1, min: 0, max: 64, "data-testid": "mask-feather-range", "aria-label": "Feather the seam" });
  const keepOutside = h("input", { type: "checkbox", "data-testid": "mask-keep-outside" });

  const tools = h(
    "div",
    { class: "afs-mask-tools" },
    h("label", { class: "afs-inline", title: "Positive grows the area to edit, negative shrinks it" }, h("span", {}, "Grow / shrink (px)"), growRange, grow),
    h("label", { class: "afs-inline", title: "Soft seam width when the original is pasted back outside the mask" }, h("span", {}, "Feather (px)"), featherRange, feather),
    h("label", { class: "afs-inline", title: "Paste the original back outside the mask, so only the masked area changes" }, keepOutside, h("span", {}, "Keep outside the mask")),
  );

  const panel = h(
    "section",
    { class: "afs-panel afs-send", "data-testid": "send-panel", "aria-label": "What will be sent" },
    h("h3", {}, "What will be sent"),
    h("div", { class: "afs-checker" }, image),
    none,
    coverage,
    checks,
    tools,
    violations.slot("mask"),
  );

  // canvas_image decoded once per change; a newer one may overtake an older decode.
  let picture: ImageBitmap | HTMLImageElement | null = null;
  let token = 0;
  watch(model, ["canvas_image"], () => {
    const mine = ++token;
    picture = null;
    decodeImage(model.get("canvas_image"))
      .then((decoded) => {
        if (mine !== token) return;
        picture = decoded;
        draw(null);
      })
      .catch((error) => console.error("anyfast-studio: canvas_image is not an image", error));
  }, cleanups);

  /** Redraw `box` of the preview (canvas px; null = all): the picture, the send mask cut out of it. */
  const draw = (box: Box | null) => {
    const { width, height } = layer;
    if (image.width !== width || image.height !== height) {
      image.width = width;
      image.height = height;
      box = null;
    }
    const b = box ?? { x: 0, y: 0, width, height };
    if (picture && b.width > 0 && b.height > 0) {
      ctx.save();
      ctx.beginPath();
      ctx.rect(b.x, b.y, b.width, b.height);
      ctx.clip();
      ctx.clearRect(b.x, b.y, b.width, b.height);
      ctx.drawImage(picture, 0, 0, width, height);
      ctx.globalCompositeOperation = "destination-out";
      ctx.drawImage(layer.send, b.x, b.y, b.width, b.height, b.x, b.y, b.width, b.height);
      ctx.restore();
    }
    image.dataset.maskVersion = String(layer.version);
  };

  watch(model, ["coverage"], () => {
    const value = Number(model.get("coverage") ?? 0);
    const some = value > 0;
    coverage.textContent = some ? `The model may change ${value.toFixed(1)} % of the image.` : "";
    coverage.hidden = !some;
    image.hidden = !some;
    none.hidden = some;
  }, cleanups);

  watch(model, ["mask_checks"], () => {
    setChildren(
      checks,
      ...list(model, "mask_checks").map((check) =>
        h(
          "li",
          { class: check.ok ? "afs-pass" : "afs-fail", "data-ok": String(!!check.ok), "data-testid": "mask-check" },
          h("span", { class: "afs-mark", "aria-label": check.ok ? "passes" : "fails" }, check.ok ? "✓" : "✗"),
          h("span", { class: "afs-check-label" }, check.label),
          check.message ? h("span", { class: "afs-muted" }, ` ${check.message}`) : null,
        ),
      ),
    );
    checks.hidden = list(model, "mask_checks").length === 0;
  }, cleanups);

  const toolsOf = (): MaskTools => ({ ...DEFAULT_TOOLS, ...(model.get("mask_tools") ?? {}) });
  watch(model, ["mask_tools"], () => {
    const value = toolsOf();
    for (const input of [grow, growRange]) if (document.activeElement !== input) input.value = String(value.grow);
    for (const input of [feather, featherRange]) if (document.activeElement !== input) input.value = String(value.feather);
    keepOutside.checked = !!value.keep_outside;
  }, cleanups);

  const setTools = (change: Partial<MaskTools>, save: boolean) => {
    model.set("mask_tools", { ...toolsOf(), ...change });
    if (save) model.save_changes();
  };
  // Within the fields' bounds, which are Python's limits (js/README.md): a value typed beyond them is clamped here.
  const integer = (input: HTMLInputElement, min: number, max: number) => {
    const value = Math.round(Number(input.value));
    return Number.isFinite(value) ? Math.min(max, Math.max(min, value)) : 0;
  };
  // Sliders update the view while dragging and send once on release; number fields send on commit.
  cleanups.listen(growRange, "input", () => setTools({ grow: integer(growRange, -MAX_GROW, MAX_GROW) }, false));
  cleanups.listen(growRange, "change", () => setTools({ grow: integer(growRange, -MAX_GROW, MAX_GROW) }, true));
  cleanups.listen(grow, "change", () => setTools({ grow: integer(grow, -MAX_GROW, MAX_GROW) }, true));
  cleanups.listen(featherRange, "input", () => setTools({ feather: integer(featherRange, 0, MAX_FEATHER) }, false));
  cleanups.listen(featherRange, "change", () => setTools({ feather: integer(featherRange, 0, MAX_FEATHER) }, true));
  cleanups.listen(feather, "change", () => setTools({ feather: integer(feather, 0, MAX_FEATHER) }, true));
  cleanups.listen(keepOutside, "change", () => setTools({ keep_outside: keepOutside.checked }, true));
  return { element: panel, update: draw };
}
