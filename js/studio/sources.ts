// Source images: upload button, drag and drop, paste; thumbnails in order (the first is
// the primary, the one the mask belongs to), each removable and movable.
import { UrlCache } from "../shared/bytes";
import { Cleanups, h, setChildren } from "../shared/dom";
import { list, watch } from "./model";
import type { Model, Source } from "./types";
import type { ViolationSlots } from "./violations";

/** dataTransfer type of a thumbnail being dragged, so a reorder is never taken for a file drop. */
const SOURCE_DRAG_TYPE = "application/x-anyfast-source-index";

/** Files in a DataTransfer (drop or paste), in order. */
export function filesOf(transfer: DataTransfer | null): File[] {
  if (!transfer) return [];
  if (transfer.files && transfer.files.length) return Array.from(transfer.files);
  const files: File[] = [];
  for (const item of Array.from(transfer.items ?? [])) {
    if (item.kind === "file") {
      const file = item.getAsFile();
      if (file) files.push(file);
    }
  }
  return files;
}

/** Send files to Python as one add_sources message, one buffer per file. */
export async function sendFiles(model: Model, files: File[]): Promise<void> {
  if (!files.length) return;
  const buffers = await Promise.all(files.map((file) => file.arrayBuffer()));
  // A pasted image has no useful name ("image.png"); Python names it from its content anyway.
  model.send({ type: "add_sources", names: files.map((file) => file.name || "pasted image") }, undefined, buffers);
}

export function sourcesPanel(model: Model, root: HTMLElement, violations: ViolationSlots, cleanups: Cleanups): HTMLElement {
  const urls = new UrlCache();
  cleanups.add(() => urls.clear());

  const input = h("input", { type: "file", multiple: true, accept: "image/*", class: "afs-file-input", "data-testid": "source-input", "aria-label": "Choose source images" });
  const upload = h("button", { type: "button", "data-testid": "add-sources", "aria-label": "Add source images (or drop or paste them here)" }, "Add images…");
  const count = h("span", { class: "afs-muted", "data-testid": "source-count" });
  const hint = h("p", { class: "afs-empty", "data-testid": "sources-empty" }, "No sources: the prompt generates a new image. Add, drop or paste images to edit them.");
  const thumbs = h("ol", { class: "afs-thumbs", "data-testid": "sources", "aria-label": "Source images, primary first" });

  cleanups.listen(upload, "click", () => input.click());
  cleanups.listen(input, "change", () => {
    const files = Array.from(input.files ?? []);
    input.value = ""; // the same file can be chosen again
    void sendFiles(model, files);
  });

  // --- files dropped anywhere on the widget
  const hasFiles = (event: DragEvent) => !!event.dataTransfer && Array.from(event.dataTransfer.types).includes("Files");
  let dragDepth = 0;
  cleanups.listen<DragEvent>(root, "dragenter", (event) => {
    if (!hasFiles(event)) return;
    dragDepth += 1;
    root.classList.add("afs-dropping");
  });
  cleanups.listen<DragEvent>(root, "dragleave", (event) => {
    if (!hasFiles(event)) return;
    dragDepth = Math.max(0, dragDepth - 1);
    if (dragDepth === 0) root.classList.remove("afs-dropping");
  });
  cleanups.listen<DragEvent>(root, "dragover", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault(); // allow the drop (and keep the browser from opening the file)
    event.dataTransfer!.dropEffect = "copy";
  });
  cleanups.listen<DragEvent>(root, "drop", (event) => {
    dragDepth = 0;
    root.classList.remove("afs-dropping");
    if (!hasFiles(event)) return;
    event.preventDefault();
    void sendFiles(model, filesOf(event.dataTransfer));
  });

  // --- images pasted while the widget has focus; pasted text stays text
  cleanups.listen<ClipboardEvent>(root, "paste", (event) => {
    const files = filesOf(event.clipboardData).filter((file) => file.type.startsWith("image/"));
    if (!files.length) return;
    event.preventDefault();
    void sendFiles(model, files);
  });

  const move = (from: number, to: number) => {
    const n = list(model, "source_cards").length;
    if (from === to || to < 0 || to >= n) return;
    model.send({ type: "move_source", from, to });
  };

  // The thumbnails' listeners live with the thumbnails: dropped at each re-render.
  const itemCleanups = new Cleanups();
  cleanups.add(() => itemCleanups.run());
  watch(model, ["source_cards", "limits"], () => {
    itemCleanups.run();
    const sources = list(model, "source_cards");
    urls.retain(new Set(sources.map((s) => s.id)));
    setChildren(thumbs, ...sources.map((source, index) => thumbnail(source, index, sources.length)));
    const most = model.get("limits")?.sources ?? sources.length;
    count.textContent = `${sources.length} / ${most}`;
    hint.hidden = sources.length > 0;
    upload.disabled = sources.length >= most;
    upload.title = sources.length >= most ? `At most ${most} sources` : "";
  }, cleanups);

  function thumbnail(source: Source, index: number, total: number): HTMLElement {
    const name = source.name || `image ${index + 1}`;
    const url = urls.get(source.id, source.thumb);
    const left = h("button", { type: "button", class: "afs-icon", "data-testid": "source-left", "aria-label": `Move ${name} left`, title: "Move left", disabled: index === 0 }, "◀");
    const right = h("button", { type: "button", class: "afs-icon", "data-testid": "source-right", "aria-label": `Move ${name} right`, title: "Move right", disabled: index === total - 1 }, "▶");
    const remove = h("button", { type: "button", class: "afs-icon", "data-testid": "source-remove", "aria-label": `Remove ${name}`, title: "Remove" }, "✕");
    const item = h(
      "li",
      { class: index === 0 ? "afs-thumb afs-primary" : "afs-thumb", "data-testid": "source-thumb", "data-index": index, "data-id": source.id, draggable: "true", title: `${name}: drag to reorder` },
      h("div", { class: "afs-thumb-image" }, url ? h("img", { src: url, alt: name, draggable: "false" }) : null),
      index === 0 ? h("span", { class: "afs-badge", "data-testid": "source-primary" }, "primary") : null,
      h("span", { class: "afs-thumb-name" }, name),
      h("span", { class: "afs-muted" }, `${source.width}×${source.height} ${source.format ?? ""}`.trim()),
      source.note ? h("span", { class: "afs-note", "data-testid": "source-note" }, source.note) : null,
      h("span", { class: "afs-thumb-buttons" }, left, right, remove),
    );
    itemCleanups.listen(left, "click", () => move(index, index - 1));
    itemCleanups.listen(right, "click", () => move(index, index + 1));
    itemCleanups.listen(remove, "click", () => model.send({ type: "remove_source", index }));
    // Drag to reorder: the thumbnail carries its index; dropping on another moves it there.
    itemCleanups.listen<DragEvent>(item, "dragstart", (event) => {
      event.dataTransfer?.setData(SOURCE_DRAG_TYPE, String(index));
      if (event.dataTransfer) event.dataTransfer.effectAllowed = "move";
      item.classList.add("afs-dragging");
    });
    itemCleanups.listen(item, "dragend", () => item.classList.remove("afs-dragging"));
    itemCleanups.listen<DragEvent>(item, "dragover", (event) => {
      if (!event.dataTransfer || !Array.from(event.dataTransfer.types).includes(SOURCE_DRAG_TYPE)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      item.classList.add("afs-drop-target");
    });
    itemCleanups.listen(item, "dragleave", () => item.classList.remove("afs-drop-target"));
    itemCleanups.listen<DragEvent>(item, "drop", (event) => {
      item.classList.remove("afs-drop-target");
      const from = event.dataTransfer?.getData(SOURCE_DRAG_TYPE);
      if (from === undefined || from === "") return;
      event.preventDefault();
      event.stopPropagation();
      move(Number(from), index);
    });
    return item;
  }

  return h(
    "section",
    { class: "afs-panel afs-sources", "data-testid": "sources-panel", "aria-label": "Source images" },
    h("div", { class: "afs-panel-head" }, h("h3", {}, "Sources"), count, upload, input),
    hint,
    thumbs,
    violations.slot("image[]"),
  );
}
