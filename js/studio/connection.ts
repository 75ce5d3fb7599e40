// Where the studio's requests go: a badge while it talks to the built-in stand-in
// (synthetic pictures, nothing paid), and "Try offline" while it has no key.
// Both follow Python's `offline` and `key_missing` traits; the button only asks.
import { Cleanups, h } from "../shared/dom";
import { watch } from "./model";
import type { Model } from "./types";

export function connectionBar(model: Model, cleanups: Cleanups): HTMLElement {
  const badge = h(
    "span",
    { class: "afs-offline-badge", "data-testid": "offline-badge", title: "Requests go to the stand-in server inside this kernel" },
    "Offline: synthetic images from the built-in stand-in \u2014 nothing is paid",
  );
  const tryOffline = h(
    "button",
    { type: "button", "data-testid": "try-offline", title: "Use the built-in stand-in server: synthetic images, nothing paid" },
    "Try offline",
  );
  const bar = h("div", { class: "afs-connection", "data-testid": "connection" }, badge, tryOffline);
  cleanups.listen(tryOffline, "click", () => model.send({ type: "go_offline" }));
  watch(model, ["offline", "key_missing"], () => {
    const offline = !!model.get("offline");
    badge.hidden = !offline;
    tryOffline.hidden = offline || !model.get("key_missing");
    bar.hidden = badge.hidden && tryOffline.hidden;
  }, cleanups);
  return bar;
}
