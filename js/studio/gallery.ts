// The results, newest first, as they arrive: preview, revised prompt, timing, the change
// outside the mask for edits; enlarge (a dialog with the full file), download, and use
// as a source. Full files are asked of Python with `fetch` and come back as a `file`
// message; every view of the model hears the answer, so each acts only on its own asks.
// The history's entries come before their previews: each waits as a placeholder of its
// picture's shape (`placeholder.ts`), and the picture takes its place in the same item.
import { UrlCache, toBlob } from "../shared/bytes";
import { Cleanups, formatSeconds, h, setChildren } from "../shared/dom";
import { list, watch } from "./model";
import { placeholderUrl, previewState } from "./placeholder";
import type { FileMessage, Model, Result } from "./types";

type Purpose = FileMessage["purpose"];

/** A result's fields that are shown besides its picture, for telling whether a re-sent result changed. */
function signature(result: Result): string {
  const { preview: _preview, preview_mime: _mime, ...rest } = result;
  return JSON.stringify(rest);
}

/** "changed outside mask 0.4 %" for edits, null when Python did not measure it. */
export function changeOutsideText(result: Pick<Result, "endpoint" | "change_outside" | "kept_outside">): string | null {
  if (result.endpoint !== "edits" || result.change_outside === null || result.change_outside === undefined) return null;
  const kept = result.kept_outside ? " (original kept outside)" : "";
  return `changed outside the mask: ${result.change_outside.toFixed(1)} %${kept}`;
}

export type Gallery = { element: HTMLElement; onFile: (message: FileMessage, buffers: DataView[]) => void };

export function galleryPanel(model: Model, root: HTMLElement, cleanups: Cleanups): Gallery {
  const previews = new UrlCache();
  cleanups.add(() => previews.clear());
  const grid = h("ol", { class: "afs-gallery", "data-testid": "gallery", "aria-label": "Results, newest first" });
  const more = h("button", { type: "button", class: "afs-more", "data-testid": "gallery-more", title: "Show older results from the run store" }, "Show more");
  cleanups.listen(more, "click", () => model.send({ type: "gallery_more" }));
  watch(model, ["gallery_more"], () => {
    more.hidden = !model.get("gallery_more");
  }, cleanups);
  const panel = h("section", { class: "afs-panel afs-results", "data-testid": "results", "aria-label": "Results" }, h("h3", {}, "Results"), grid, more);

  // --- the enlarged view
  const bigImage = h("img", { class: "afs-enlarged-image", "data-testid": "enlarged-image", alt: "" });
  const bigCaption = h("p", { class: "afs-muted", "data-testid": "enlarged-caption" });
  const close = h("button", { type: "button", class: "afs-icon afs-dialog-close", "data-testid": "enlarged-close", "aria-label": "Close (Escape)" }, "✕");
  const dialog = h("dialog", { class: "afs-dialog", "data-testid": "enlarged", "aria-label": "Enlarged result" }, close, bigImage, bigCaption);
  root.appendChild(dialog);
  let bigUrl: string | null = null; // an object URL of a full file, revoked when replaced or closed
  let shownId: string | null = null;
  const setBig = (src: string, owned: boolean) => {
    if (bigUrl) URL.revokeObjectURL(bigUrl);
    bigUrl = owned ? src : null;
    bigImage.src = src;
  };
  const closeDialog = () => {
    shownId = null;
    if (dialog.open) dialog.close();
    dialog.removeAttribute("open");
    if (bigUrl) URL.revokeObjectURL(bigUrl);
    bigUrl = null;
    bigImage.removeAttribute("src");
  };
  const openDialog = (result: Result) => {
    shownId = result.id;
    const preview = previews.get(result.id, result.preview, result.preview_mime ?? undefined);
    if (preview) setBig(preview, false);
    bigImage.alt = result.revised_prompt || result.prompt || "result";
    bigCaption.textContent = `${result.file_name ?? ""} ${result.size ? `${result.size[0]}×${result.size[1]}` : ""} — loading full size…`;
    dialog.dataset.state = "loading";
    if (typeof dialog.showModal === "function") {
      if (!dialog.open) dialog.showModal();
    } else {
      dialog.setAttribute("open", "");
    }
  };
  cleanups.listen(close, "click", closeDialog);
  cleanups.listen(dialog, "close", closeDialog);
  cleanups.listen<MouseEvent>(dialog, "click", (event) => {
    if (event.target === dialog) closeDialog(); // a click on the backdrop
  });
  cleanups.listen<KeyboardEvent>(dialog, "keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      closeDialog();
    }
  });
  cleanups.add(() => {
    closeDialog();
    dialog.remove();
  });

  // --- asking Python for files
  const pending = new Set<string>();
  const downloads = new Set<ReturnType<typeof setTimeout>>();
  cleanups.add(() => downloads.forEach(clearTimeout));
  const fetchFile = (id: string, purpose: Purpose) => {
    pending.add(`${purpose}:${id}`);
    model.send({ type: "fetch", id, purpose });
  };
  const onFile = (message: FileMessage, buffers: DataView[]) => {
    if (!pending.delete(`${message.purpose}:${message.id}`)) return; // another view asked
    const blob = toBlob(buffers?.[0] ?? null, message.mime);
    if (!blob) return;
    const url = URL.createObjectURL(blob);
    if (message.purpose === "enlarge") {
      if (shownId !== message.id) {
        URL.revokeObjectURL(url); // closed (or another opened) before the file came
        return;
      }
      setBig(url, true);
      dialog.dataset.state = "full";
      bigCaption.textContent = `${message.name} — full size`;
      return;
    }
    const link = h("a", { href: url, download: message.name || "image", hidden: true });
    root.appendChild(link);
    link.click();
    link.remove();
    // The browser reads the URL asynchronously; revoke it once the download has surely started.
    const timer = setTimeout(() => {
      URL.revokeObjectURL(url);
      downloads.delete(timer);
    }, 60_000);
    downloads.add(timer);
  };

  // --- the items, keyed by id so that a new result does not reload the others
  type Item = { signature: string; element: HTMLElement; cleanups: Cleanups; show: (result: Result) => void };
  const items = new Map<string, Item>();
  cleanups.add(() => items.forEach((item) => item.cleanups.run()));
  watch(model, ["gallery"], () => {
    const results = list(model, "gallery");
    const ids = new Set(results.map((r) => r.id));
    for (const [id, item] of items) {
      if (!ids.has(id)) {
        item.cleanups.run();
        items.delete(id);
      }
    }
    previews.retain(ids);
    const elements = results.map((result) => {
      const sig = signature(result);
      const known = items.get(result.id);
      if (known && known.signature === sig) {
        known.show(result); // the same entry: at most its picture came
        return known.element;
      }
      known?.cleanups.run();
      const itemCleanups = new Cleanups();
      const item = renderItem(result, itemCleanups, sig);
      items.set(result.id, item);
      return item.element;
    });
    setChildren(grid, ...elements);
    panel.hidden = results.length === 0 && !model.get("gallery_more");
  }, cleanups);

  function renderItem(result: Result, itemCleanups: Cleanups, sig: string): Item {
    const text = result.revised_prompt || result.prompt || "";
    const enlarge = h(
      "button",
      { type: "button", class: "afs-result-image", "data-testid": "result-enlarge", "aria-label": "Enlarge this result" },
    );
    const picture = h("img", { alt: text, loading: "lazy", "data-testid": "result-picture" });
    let shown: string | null = null; // the state and URL the picture shows, so a re-sent entry costs nothing
    let current = result; // the entry as last sent: the enlarged view starts from its picture
    const show = (latest: Result) => {
      current = latest;
      const state = previewState(latest);
      const url = state === "shown" ? previews.get(latest.id, latest.preview, latest.preview_mime ?? undefined) : null;
      const now = `${state}:${url ?? ""}`;
      if (now === shown) return;
      shown = now;
      picture.dataset.state = state;
      if (url) {
        picture.src = url;
        picture.alt = text;
      } else if (state === "pending") {
        picture.src = placeholderUrl(latest.size);
        picture.alt = `${text} (its picture is on its way)`;
      }
      setChildren(enlarge, ...(state === "none" || (state === "shown" && !url) ? ["no preview"] : [picture]));
    };
    show(result);
    const download = h("button", { type: "button", "data-testid": "result-download", "aria-label": `Download ${result.file_name || "this result"}` }, "Download");
    const useAsSource = h("button", { type: "button", "data-testid": "result-use", "aria-label": "Use this result as the primary source" }, "Use as source");
    const change = changeOutsideText(result);
    const size = result.size ? `${result.size[0]}×${result.size[1]}` : "";
    itemCleanups.listen(enlarge, "click", () => {
      openDialog(current);
      fetchFile(result.id, "enlarge");
    });
    itemCleanups.listen(download, "click", () => fetchFile(result.id, "download"));
    itemCleanups.listen(useAsSource, "click", () => model.send({ type: "use_as_source", id: result.id }));
    const element = h(
      "li",
      { class: "afs-result", "data-testid": "gallery-item", "data-id": result.id, "data-endpoint": result.endpoint },
      enlarge,
      h(
        "div",
        { class: "afs-result-text" },
        h("p", { class: "afs-result-prompt", "data-testid": "result-prompt", title: result.revised_prompt ? `Revised by the model; you wrote: ${result.prompt}` : "" }, text),
        h(
          "p",
          { class: "afs-muted", "data-testid": "result-meta" },
          [result.endpoint === "edits" ? "edit" : "generation", size, result.format, Number.isFinite(result.elapsed_s) ? formatSeconds(result.elapsed_s) : ""]
            .filter(Boolean)
            .join(" · "),
        ),
        change ? h("p", { class: "afs-muted", "data-testid": "result-change-outside" }, change) : null,
        h("div", { class: "afs-result-buttons" }, download, useAsSource),
      ),
    );
    return { signature: sig, element, cleanups: itemCleanups, show };
  }

  return { element: panel, onFile };
}
