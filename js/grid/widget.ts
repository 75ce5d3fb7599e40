// anywidget entry of the comparison grid's widget (Python: anyfast_widget/grid/_view.py;
// contract: js/grid/README.md). Python owns the state; this view shows it and turns clicks
// and keys into messages. Pictures come as binary buffers into a cache kept per model, so
// every view of the grid (and every re-render) shares them.
import "./grid.css";
import { Cleanups, h } from "../shared/dom";
import { abPanel } from "./ab";
import { Picks, type Context } from "./context";
import { enlargeDialog } from "./enlarge";
import { exportsPanel, headerPanel, noticeBanner } from "./header";
import { createImageCache, imageCacheFor } from "./images";
import { measuresPanel } from "./measures";
import { ratingPanel } from "./rating";
import { gridTable } from "./table";
import type { DownloadMessage, GridModel } from "./types";

function render({ model, el }: { model: GridModel; el: HTMLElement }): () => void {
  const cleanups = new Cleanups();
  const root = h("div", {
    class: "anyfast-grid",
    "data-testid": "grid",
    role: "group",
    "aria-label": "Comparison grid",
    // JupyterLab / Notebook 7 take arrow keys and letters for notebook commands before an
    // output sees them; these attributes keep the rating keys the widget's own.
    "data-lm-suppress-shortcuts": "true",
    "data-p-suppress-shortcuts": "true",
  });
  const images = imageCacheFor(model);
  const picks = new Picks();
  const base = { model, images, root, cleanups, picks };
  const dialog = enlargeDialog(base);
  const ctx: Context = { ...base, enlarge: dialog.open };
  const exports = exportsPanel(ctx);

  root.append(
    headerPanel(ctx),
    noticeBanner(ctx),
    gridTable(ctx),
    abPanel(ctx),
    ratingPanel(ctx),
    measuresPanel(ctx),
    exports.element,
    dialog.element,
  );

  const onMessage = (content: unknown, buffers: DataView[]) => {
    const message = content as Partial<DownloadMessage> | null;
    if (message && message.type === "download") exports.onDownload(message as DownloadMessage, buffers);
  };
  model.on("msg:custom", onMessage);
  cleanups.add(() => model.off("msg:custom", onMessage));

  el.appendChild(root);
  cleanups.add(() => root.remove());
  return () => cleanups.run();
}

/** Once per model: the picture cache that all of its views share. */
function initialize({ model }: { model: GridModel }): void {
  createImageCache(model);
}

export default { initialize, render };
