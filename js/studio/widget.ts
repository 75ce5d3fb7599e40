// anywidget entry: builds the studio's view for one model. Everything the user can
// change lives in the model, so several views of the same studio stay in step; the
// returned cleanup undoes every listener, timer and object URL of this view.
import "./widget.css";
import { connectionBar } from "./connection";
import { controlsPanel } from "./controls";
import { Cleanups, h } from "../shared/dom";
import { extendPanel } from "./extend_panel";
import { galleryPanel } from "./gallery";
import { maskEditor } from "./mask_editor";
import { MaskLayer } from "./mask_layer";
import { list, watch } from "./model";
import { noticeBanner } from "./notice";
import { progressPanel } from "./progress";
import { sendPreview } from "./send_preview";
import { sourcesPanel } from "./sources";
import { spendMeter } from "./spend";
import type { FileMessage, MaskMessage, Model, ViewMessage } from "./types";
import { ViolationSlots } from "./violations";

function render({ model, el }: { model: Model; el: HTMLElement }): () => void {
  const cleanups = new Cleanups();
  const root = h("div", {
    class: "anyfast-studio",
    "data-testid": "studio",
    tabindex: 0,
    role: "group",
    "aria-label": "Image studio (drop or paste images here)",
    // JupyterLab / Notebook 7 (Lumino) take keys like Ctrl+Z for notebook commands
    // before they reach an output; these attributes keep the studio's shortcuts its own.
    "data-lm-suppress-shortcuts": "true",
    "data-p-suppress-shortcuts": "true",
  });

  const violations = new ViolationSlots();
  watch(model, ["violations"], () => violations.update(list(model, "violations")), cleanups);

  const run = () => model.send({ type: "run" });
  const gallery = galleryPanel(model, root, cleanups);
  // The layer holds Python's mask; a patch it cannot place (sizes out of step) asks for the whole mask.
  let syncTimer: ReturnType<typeof setTimeout> | undefined;
  const sync = () => model.send({ type: "mask_sync" });
  const layer = new MaskLayer(() => {
    clearTimeout(syncTimer);
    syncTimer = setTimeout(sync, 100);
  });
  cleanups.add(() => {
    clearTimeout(syncTimer);
    layer.dispose();
  });
  const editor = maskEditor(model, root, layer, cleanups);
  const sent = sendPreview(model, layer, violations, cleanups);
  const extend = extendPanel(model, cleanups);
  const maskRow = h("div", { class: "afs-row afs-mask-row" }, editor.element, h("div", { class: "afs-column" }, sent.element, extend));

  root.append(
    connectionBar(model, cleanups),
    spendMeter(model, cleanups),
    noticeBanner(model, cleanups),
    h("div", { class: "afs-row" }, controlsPanel(model, violations, cleanups, run), sourcesPanel(model, root, violations, cleanups)),
    maskRow,
    progressPanel(model, cleanups),
    gallery.element,
  );
  watch(model, ["source_cards"], () => {
    sent.element.hidden = extend.hidden = list(model, "source_cards").length === 0;
  }, cleanups);

  const onMessage = (content: unknown, buffers: DataView[]) => {
    const message = content as { type?: string } | null;
    if (!message) return;
    if (message.type === "file") gallery.onFile(message as FileMessage, buffers);
    else if (message.type === "view") editor.onView(message as ViewMessage, buffers);
    else if (message.type === "mask") {
      const patch = message as MaskMessage;
      if (!layer.applyPatch(patch, buffers)) return;
      const [x, y, width, height] = patch.box;
      sent.update(patch.full ? null : { x, y, width, height });
    }
  };
  model.on("msg:custom", onMessage);
  cleanups.add(() => model.off("msg:custom", onMessage));
  sync(); // this view starts from the whole mask

  // A click elsewhere in the notebook takes the keyboard back: JupyterLab does not move the
  // focus out of an output it lies in, and the studio's one-letter shortcuts would keep it.
  cleanups.listen<PointerEvent>(document, "pointerdown", (event) => {
    if (!(event.target instanceof Node) || root.contains(event.target)) return;
    const active = document.activeElement;
    if (active instanceof HTMLElement && root.contains(active)) active.blur();
  }, true);

  el.appendChild(root);
  cleanups.add(() => root.remove());
  return () => cleanups.run();
}

export default { render };
