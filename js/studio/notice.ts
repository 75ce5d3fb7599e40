// The widget-level message Python sets in `notice` (a rejected upload, a run error),
// shown as a banner. Dismissing hides it in this view until Python sets another one;
// `notice` is Python's, so the frontend never writes it.
import { Cleanups, h } from "../shared/dom";
import { watch } from "./model";
import type { Model, Notice } from "./types";

export function noticeBanner(model: Model, cleanups: Cleanups): HTMLElement {
  const title = h("strong", { "data-testid": "notice-title" });
  const message = h("span", { "data-testid": "notice-message" });
  const hint = h("div", { class: "afs-hint", "data-testid": "notice-hint" });
  const close = h("button", { type: "button", class: "afs-icon", "data-testid": "notice-dismiss", "aria-label": "Dismiss this message" }, "✕");
  const banner = h("div", { class: "afs-notice", "data-testid": "notice", role: "status", hidden: true }, h("div", { class: "afs-notice-text" }, title, message, hint), close);

  let dismissed = "";
  const key = (notice: Notice) => JSON.stringify(notice ?? {});
  const render = () => {
    const notice = model.get("notice") ?? {};
    const empty = !notice.title && !notice.message;
    banner.hidden = empty || key(notice) === dismissed;
    banner.dataset.kind = notice.kind ?? "info";
    banner.setAttribute("role", notice.kind === "error" ? "alert" : "status");
    title.textContent = notice.title ?? "";
    message.textContent = notice.message ? ` ${notice.message}` : "";
    hint.textContent = notice.hint ?? "";
    hint.hidden = !notice.hint;
  };
  watch(model, ["notice"], render, cleanups);
  cleanups.listen(close, "click", () => {
    dismissed = key(model.get("notice"));
    render();
  });
  return banner;
}
