// anywidget entry: builds the studio's view for one model. Everything the user can
// change lives in the model, so several views of the same studio stay in step; the
// returned cleanup undoes every listener, timer and object URL of this view.
import "./widget.css";
import { controlsPanel } from "./controls";
import { Cleanups, h } from "../shared/dom";
import { galleryPanel } from "./gallery";
import { maskEditor } from "./mask_editor";
import { list, watch } from "./model";
import { noticeBanner } from "./notice";
import { progressPanel } from "./progress";
import { sendPreview } from "./send_preview";
import { sourcesPanel } from "./sources";
import type { FileMessage, Model } from "./types";
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
  const editor = maskEditor(model, root, cleanups);
  const sent = sendPreview(model, violations, cleanups);
  const maskRow = h("div", { class: "afs-row afs-mask-row" }, editor, sent);

  root.append(
    noticeBanner(model, cleanups),
    h("div", { class: "afs-row" }, controlsPanel(model, violations, cleanups, run), sourcesPanel(model, root, violations, cleanups)),
    maskRow,
    progressPanel(model, cleanups),
    gallery.element,
  );
  watch(model, ["source_cards"], () => {
    sent.hidden = list(model, "source_cards").length === 0;
  }, cleanups);

  const onMessage = (content: unknown, buffers: DataView[]) => {
    const message = content as Partial<FileMessage> | null;
    if (message && message.type === "file") gallery.onFile(message as FileMessage, buffers);
  };
  model.on("msg:custom", onMessage);
  cleanups.add(() => model.off("msg:custom", onMessage));

  el.appendChild(root);
  cleanups.add(() => root.remove());
  return () => cleanups.run();
}

export default { render };
