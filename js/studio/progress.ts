// The current/last run: one row per variant with its status and a live elapsed time,
// the Cancel button while running, and each failed request's error with its hint.
import { Cleanups, formatSeconds, h, setChildren } from "../shared/dom";
import { list, watch } from "./model";
import type { Job, Model } from "./types";

const STATUS_TEXT: Record<Job["status"], string> = {
  queued: "queued",
  running: "running",
  done: "done",
  error: "failed",
  cancelled: "cancelled",
};

/** Seconds a job has taken so far (running) or took (finished); null before it started. */
export function elapsedSeconds(job: Pick<Job, "started_at" | "finished_at">, now: number): number | null {
  if (job.started_at === null || job.started_at === undefined) return null;
  const end = job.finished_at ?? now;
  return Math.max(0, (end - job.started_at) / 1000);
}

const TICK_MS = 100;

export function progressPanel(model: Model, cleanups: Cleanups): HTMLElement {
  const cancel = h("button", { type: "button", class: "afs-cancel", "data-testid": "cancel", "aria-label": "Cancel the run" }, "Cancel");
  const rows = h("ol", { class: "afs-jobs", "data-testid": "jobs", "aria-label": "Requests of the run" });
  const summary = h("span", { class: "afs-muted", "data-testid": "jobs-summary", "aria-live": "polite" });
  const panel = h(
    "section",
    { class: "afs-panel afs-progress", "data-testid": "progress", "aria-label": "Run progress" },
    h("div", { class: "afs-panel-head" }, h("h3", {}, "Run"), summary, cancel),
    rows,
  );
  cleanups.listen(cancel, "click", () => model.send({ type: "cancel" }));

  // Elapsed cells of running jobs, refreshed by a timer that only runs while one is running.
  let ticking: Array<{ job: Job; cell: HTMLElement }> = [];
  let timer: ReturnType<typeof setInterval> | undefined;
  const tick = () => {
    const now = Date.now();
    for (const { job, cell } of ticking) cell.textContent = formatSeconds(elapsedSeconds(job, now) ?? 0);
  };
  const stopTimer = () => {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
  };
  cleanups.add(stopTimer);

  watch(model, ["jobs", "running"], () => {
    const jobs = list(model, "jobs");
    const running = !!model.get("running");
    panel.hidden = jobs.length === 0 && !running;
    cancel.hidden = !running;
    const now = Date.now();
    ticking = [];
    setChildren(rows, ...jobs.map((job) => {
      const elapsed = elapsedSeconds(job, now);
      const cell = h("span", { class: "afs-elapsed", "data-testid": "job-elapsed" }, elapsed === null ? "" : formatSeconds(elapsed));
      if (job.status === "running" && job.started_at !== null && job.finished_at === null) ticking.push({ job, cell });
      return h(
        "li",
        { class: `afs-job afs-job-${job.status}`, "data-testid": "job-row", "data-status": job.status, "data-variant": job.variant },
        h("span", { class: "afs-job-name" }, `Variant ${job.variant}`),
        h("span", { class: "afs-job-status", "data-testid": "job-status" }, job.status === "running" ? h("span", { class: "afs-spinner", "aria-hidden": "true" }) : null, STATUS_TEXT[job.status] ?? job.status),
        cell,
        job.error
          ? h(
              "div",
              { class: "afs-error", "data-testid": "job-error", role: "alert" },
              h("strong", {}, job.error.title || "Error"),
              job.error.message ? h("span", {}, ` ${job.error.message}`) : null,
              job.error.hint ? h("div", { class: "afs-hint", "data-testid": "job-error-hint" }, job.error.hint) : null,
            )
          : null,
      );
    }));
    const done = jobs.filter((j) => j.status === "done").length;
    summary.textContent = jobs.length ? `${done} of ${jobs.length} done` : "";
    if (ticking.length && timer === undefined) timer = setInterval(tick, TICK_MS);
    if (!ticking.length) stopTimer();
  }, cleanups);

  return panel;
}
