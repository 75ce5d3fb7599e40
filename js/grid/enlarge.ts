// A result enlarged in a dialog (Escape or ✕ closes), with its cell's labels, prompt and
// timing, and buttons for the cell's other repeats. The picture comes at 1536 px; the
// thumbnail already here shows meanwhile.
import { Cleanups, formatSeconds, h, setChildren } from "../shared/dom";
import { type Context, cellsOf } from "./context";
import { cellName } from "./layout";

const BIG_EDGE = 1536;

export function enlargeDialog(ctx: Omit<Context, "enlarge">): { element: HTMLDialogElement; open: (cell: number, repeat: number) => void } {
  const { model, images, cleanups } = ctx;
  const image = h("img", { class: "afg-enlarged-image", "data-testid": "grid-enlarged-image", alt: "" });
  const caption = h("div", { class: "afg-enlarged-caption", "data-testid": "grid-enlarged-caption" });
  const repeats = h("div", { class: "afg-enlarged-repeats", role: "group", "aria-label": "Repeats of this cell" });
  const close = h("button", { type: "button", class: "afg-icon afg-dialog-close", "data-testid": "grid-enlarged-close", "aria-label": "Close (Escape)" }, "✕");
  const dialog = h("dialog", { class: "afg-dialog", "data-testid": "grid-enlarged", "aria-label": "Enlarged result" }, close, image, repeats, caption);
  let shown: { cell: number; repeat: number } | null = null;
  const local = new Cleanups();
  cleanups.add(() => local.run());

  const render = () => {
    local.run();
    if (!shown) return;
    const cell = cellsOf(model).find((c) => c.index === shown!.cell);
    const slot = cell?.slots.find((s) => s.repeat === shown!.repeat);
    if (!cell || !slot?.result_id) return;
    const id = slot.result_id;
    images.hold(dialog, [[id, BIG_EDGE]]);
    const picture = images.bestPicture(id, BIG_EDGE);
    if (!images.picture(id, BIG_EDGE)) images.want(id, BIG_EDGE);
    if (picture && image.getAttribute("src") !== picture.url) image.src = picture.url;
    dialog.dataset.state = images.picture(id, BIG_EDGE) ? "full" : "loading";
    image.alt = `${cellName(cell.labels)}${cell.slots.length > 1 ? ` #${slot.repeat + 1}` : ""}`;
    const bits = [slot.size ? `${slot.size[0]}×${slot.size[1]}` : "", typeof slot.latency_s === "number" ? formatSeconds(slot.latency_s) : ""].filter(Boolean);
    setChildren(
      caption,
      h("strong", {}, cellName(cell.labels)),
      cell.slots.length > 1 ? ` · repeat ${slot.repeat + 1} of ${cell.slots.length}` : "",
      bits.length ? ` · ${bits.join(" · ")}` : "",
      h("p", {}, cell.prompt),
      slot.revised_prompt && slot.revised_prompt !== cell.prompt ? h("p", { class: "afg-muted" }, `Revised: ${slot.revised_prompt}`) : null,
    );
    const buttons = cell.slots
      .filter((s) => s.result_id)
      .map((s) => {
        const b = h("button", { type: "button", "aria-pressed": String(s.repeat === slot.repeat), "aria-label": `Show repeat ${s.repeat + 1}` }, `#${s.repeat + 1}`);
        local.listen(b, "click", () => open(cell.index, s.repeat));
        return b;
      });
    setChildren(repeats, ...(buttons.length > 1 ? buttons : []));
  };
  const open = (cell: number, repeat: number) => {
    shown = { cell, repeat };
    image.removeAttribute("src");
    render();
    if (typeof dialog.showModal === "function") {
      if (!dialog.open) dialog.showModal();
    } else dialog.setAttribute("open", "");
  };
  const hide = () => {
    shown = null;
    images.hold(dialog, []);
    if (dialog.open) dialog.close();
    dialog.removeAttribute("open");
  };
  cleanups.listen(close, "click", hide);
  cleanups.listen(dialog, "close", () => {
    shown = null;
    images.hold(dialog, []);
  });
  cleanups.listen<MouseEvent>(dialog, "click", (event) => {
    if (event.target === dialog) hide(); // the backdrop
  });
  cleanups.add(images.subscribe(render));
  cleanups.add(() => {
    hide();
    dialog.remove();
  });
  return { element: dialog, open };
}
