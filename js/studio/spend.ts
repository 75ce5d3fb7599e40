// The session's spend as Python counts it (the `spend` trait): "spent 0.42 of 5.00 · this run
// about 0.08", and a bar of the budget used. Hidden while the studio has no prices. Python
// refuses a run over the budget (a `budget` violation, the run button's reason); this only shows.
import { Cleanups, h } from "../shared/dom";
import { watch } from "./model";
import type { Model, Spend } from "./types";

/** How much of the budget is used, 0 to 1; null without a budget. */
export function budgetUsed(spend: Partial<Spend> | undefined): number | null {
  const budget = spend?.budget;
  if (typeof budget !== "number" || !Number.isFinite(budget)) return null;
  if (budget <= 0) return 1;
  return Math.max(0, Math.min(1, (spend?.spent ?? 0) / budget));
}

export function spendMeter(model: Model, cleanups: Cleanups): HTMLElement {
  const text = h("span", { class: "afs-spend-text", "data-testid": "spend-text" });
  const bar = h("progress", { class: "afs-spend-bar", "data-testid": "spend-bar", max: 1, value: 0, "aria-label": "Budget used" });
  const meter = h("div", { class: "afs-spend", "data-testid": "spend", role: "status", "aria-live": "polite" }, text, bar);
  watch(model, ["spend"], () => {
    const spend = model.get("spend") ?? {};
    text.textContent = spend.text ?? "";
    meter.hidden = !spend.text;
    const used = budgetUsed(spend);
    bar.hidden = used === null;
    bar.value = used ?? 0;
    meter.dataset.full = String(used !== null && used >= 1);
  }, cleanups);
  return meter;
}
