// The grid's head: what it compares, the plan (requests, from the run store, blocked, to
// send, cost), progress, Run and Cancel; the notice banner; and the export buttons.
import { Cleanups, h, setChildren } from "../shared/dom";
import { type Context, watch } from "./context";
import type { DownloadMessage, ExportKind, Plan } from "./types";

const EXPORTS: Array<{ kind: ExportKind; text: string; label: string }> = [
  { kind: "png", text: "Contact sheet (PNG)", label: "Export a labelled contact sheet as PNG" },
  { kind: "html", text: "HTML report", label: "Export a self-contained HTML report" },
  { kind: "json", text: "JSON", label: "Export the records as JSON" },
  { kind: "csv", text: "CSV", label: "Export the records as CSV" },
];

/** "12 requests · 8 done · 2 running · 1 blocked · 4 to send · about 0.28 to pay". */
export function planText(plan: Partial<Plan>): string {
  const counts = plan.counts ?? {};
  const parts = [`${plan.requests ?? 0} requests`];
  const done = (counts.done ?? 0) + (counts.cached ?? 0);
  if (done) parts.push(`${done} done${counts.cached ? ` (${counts.cached} from the run store)` : ""}`);
  if (counts.running) parts.push(`${counts.running} running`);
  if (counts.error) parts.push(`${counts.error} failed`);
  if (plan.blocked) parts.push(`${plan.blocked} blocked by moderation`);
  if (counts.cancelled) parts.push(`${counts.cancelled} cancelled`);
  parts.push(`${plan.to_send ?? 0} to send`);
  if (typeof plan.cost_to_send === "number") parts.push(`about ${plan.cost_to_send.toFixed(2)} to pay`);
  if (typeof plan.cost_total === "number") parts.push(`${plan.cost_total.toFixed(2)} for the whole grid`);
  if (typeof plan.budget === "number" && typeof plan.budget_left === "number") {
    const unsent = plan.left_unsent ? `, ${plan.left_unsent} left unsent` : "";
    parts.push(`budget ${plan.budget.toFixed(2)}: ${plan.budget_left.toFixed(2)} left${unsent}`);
  }
  return parts.join(" · ");
}

export function headerPanel(ctx: Context): HTMLElement {
  const { model, cleanups } = ctx;
  const title = h("h3", { "data-testid": "grid-title" });
  const axes = h("span", { class: "afg-muted", "data-testid": "grid-axes" });
  const plan = h("p", { class: "afg-plan", "data-testid": "grid-plan", "aria-live": "polite" });
  const bar = h("progress", { class: "afg-progress", "data-testid": "grid-progress", max: 1, value: 0, "aria-label": "Requests finished" });
  const run = h("button", { type: "button", class: "afg-primary", "data-testid": "grid-run" }, "Run");
  const cancel = h("button", { type: "button", "data-testid": "grid-cancel", "aria-label": "Cancel: requests not yet started are not sent" }, "Cancel");
  cleanups.listen(run, "click", () => model.send({ type: "run" }));
  cleanups.listen(cancel, "click", () => model.send({ type: "cancel" }));

  const render = () => {
    const p = model.get("plan") ?? ({} as Partial<Plan>);
    const running = !!model.get("running");
    const a = model.get("axes");
    const shape = model.get("shape") ?? [1, 1, 1];
    title.textContent = `Grid ${model.get("grid_id") ?? ""}`;
    const described = [a?.rows ? `rows: ${a.rows.name}` : "", a?.cols ? `columns: ${a.cols.name}` : "", a?.pages ? `pages: ${a.pages.name}` : ""].filter(Boolean);
    axes.textContent = [...described, `${shape[1]}×${shape[2]}${shape[0] > 1 ? ` on ${shape[0]} pages` : ""}`, `${model.get("repeats") ?? 1} per cell`].join(" · ");
    plan.textContent = planText(p);
    const counts = p.counts ?? {};
    const finished = Object.entries(counts).filter(([k]) => !["pending", "running"].includes(k)).reduce((n, [, v]) => n + (v ?? 0), 0);
    bar.max = Math.max(1, p.requests ?? 1);
    bar.value = finished;
    bar.hidden = !running && finished === (p.requests ?? 0);
    run.hidden = running || !(p.to_send ?? 0);
    run.textContent = `Send ${p.to_send ?? 0} request${p.to_send === 1 ? "" : "s"}`;
    run.setAttribute("aria-label", `Run the grid: send the ${p.to_send ?? 0} requests not done yet`);
    cancel.hidden = !running;
  };
  watch(model, ["plan", "running", "axes", "shape", "repeats", "grid_id"], render, cleanups);

  return h("header", { class: "afg-head" }, h("div", { class: "afg-title" }, title, axes), h("div", { class: "afg-plan-row" }, plan, bar, run, cancel));
}

export function noticeBanner(ctx: Context): HTMLElement {
  const { model, cleanups } = ctx;
  const banner = h("div", { class: "afg-notice", "data-testid": "grid-notice", role: "status", hidden: true });
  const local = new Cleanups();
  cleanups.add(() => local.run());
  watch(model, ["notice"], () => {
    local.run();
    const notice = model.get("notice") ?? {};
    banner.hidden = !notice.title && !notice.message;
    banner.dataset.kind = notice.kind ?? "info";
    const dismiss = h("button", { type: "button", class: "afg-icon", "data-testid": "grid-notice-dismiss", "aria-label": "Dismiss this message" }, "✕");
    local.listen(dismiss, "click", () => model.send({ type: "dismiss" }));
    let confirm: HTMLButtonElement | null = null;
    if (notice.kind === "confirm") {
      confirm = h("button", { type: "button", class: "afg-primary", "data-testid": "grid-notice-confirm" }, "Send them anyway");
      local.listen(confirm, "click", () => model.send({ type: "run", confirm: true }));
    }
    setChildren(
      banner,
      h("div", {}, h("strong", {}, notice.title ?? ""), " ", notice.message ?? "", notice.hint ? h("div", { class: "afg-hint" }, notice.hint) : null),
      confirm,
      dismiss,
    );
  }, cleanups);
  return banner;
}

/** The export buttons. Python writes the file into the run directory and sends it back; this view downloads what it asked for. */
export function exportsPanel(ctx: Context): { element: HTMLElement; onDownload: (message: DownloadMessage, buffers: DataView[]) => void } {
  const { model, cleanups, root } = ctx;
  const asked = new Map<ExportKind, ReturnType<typeof setTimeout>>();
  cleanups.add(() => asked.forEach(clearTimeout));
  const where = h("span", { class: "afg-muted", "data-testid": "grid-exports-dir" });
  const buttons = EXPORTS.map(({ kind, text, label }) => {
    const button = h("button", { type: "button", "data-testid": `grid-export-${kind}`, "aria-label": label }, text);
    cleanups.listen(button, "click", () => {
      clearTimeout(asked.get(kind));
      asked.set(kind, setTimeout(() => asked.delete(kind), 120_000)); // a big report can take a while
      model.send({ type: "export", kind });
    });
    return button;
  });
  watch(model, ["exports_dir"], () => {
    where.textContent = model.get("exports_dir") ? `saved in ${model.get("exports_dir")}` : "";
  }, cleanups);
  const onDownload = (message: DownloadMessage, buffers: DataView[]) => {
    if (!asked.has(message.kind)) return; // another view asked
    clearTimeout(asked.get(message.kind));
    asked.set(message.kind, setTimeout(() => asked.delete(message.kind), 5_000)); // contact sheets may come as several files
    const buffer = buffers?.[0];
    if (!buffer) return;
    const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength).slice();
    const url = URL.createObjectURL(new Blob([bytes], { type: message.mime }));
    const link = h("a", { href: url, download: message.name, hidden: true, "data-testid": "grid-download-link" });
    root.appendChild(link);
    link.click();
    link.remove();
    const timer = setTimeout(() => URL.revokeObjectURL(url), 60_000); // the download has surely started by then
    cleanups.add(() => clearTimeout(timer));
  };
  const element = h("div", { class: "afg-exports", role: "group", "aria-label": "Export the grid" }, h("span", { class: "afg-label" }, "Export:"), ...buttons, where);
  return { element, onDownload };
}
