// The grid itself: column labels across, row labels down, one cell per (row, column) of
// the page shown, each with its repeats side by side as they arrive. A cell shows its
// state, how much its repeats differ, its error and a Retry button; a picture opens
// enlarged, and its A/B button picks it for the A/B view.
import { Cleanups, formatSeconds, h, setChildren } from "../shared/dom";
import { type Context, cellsOf, watch } from "./context";
import { cellIndex, cellName, edgeFor, elapsed, percent, thumbSize } from "./layout";
import type { CellState, SlotState } from "./types";

const STATUS_TEXT: Record<CellState["status"], string> = {
  done: "done",
  running: "running",
  error: "failed",
  blocked: "blocked by moderation",
  pending: "waiting",
  cancelled: "cancelled",
};

function statusText(cell: CellState): string {
  if (cell.status === "done" && cell.slots.every((s) => s.status === "cached")) return "from the run store";
  if (cell.status === "running") {
    const finished = cell.slots.filter((s) => s.result_id).length;
    return `running · ${finished} of ${cell.slots.length}`;
  }
  return STATUS_TEXT[cell.status] ?? cell.status;
}

function slotText(slot: SlotState): string {
  switch (slot.status) {
    case "running":
      return "running…";
    case "pending":
      return "waiting";
    case "blocked":
      return "blocked";
    case "error":
      return "failed";
    default:
      return slot.status;
  }
}

export function gridTable(ctx: Context): HTMLElement {
  const { model, images, picks, cleanups } = ctx;
  const pages = h("div", { class: "afg-pages", role: "tablist", "aria-label": "Pages of the grid", "data-testid": "grid-pages" });
  const table = h("table", { class: "afg-table", "data-testid": "grid-table" });
  const wrap = h("div", { class: "afg-table-wrap" }, table);
  const section = h("section", { class: "afg-grid", "aria-label": "Comparison grid" }, pages, wrap);

  let thumbPx = 160;
  let edge = 256;
  let skeleton = "";
  let tds: HTMLTableCellElement[][] = [];
  const shown = new Map<number, string>(); // cell index -> the state it shows
  const cellCleanups = new Map<number, Cleanups>();
  cleanups.add(() => cellCleanups.forEach((c) => c.run()));

  // --- pages
  const renderPages = () => {
    const axis = model.get("axes")?.pages;
    pages.hidden = !axis;
    if (!axis) return;
    const page = model.get("page") ?? 0;
    const buttons = axis.labels.map((label, i) => {
      const button = h(
        "button",
        { type: "button", role: "tab", class: "afg-page", "aria-selected": String(i === page), "data-testid": "grid-page", "data-page": i },
        label || `page ${i + 1}`,
      );
      button.addEventListener("click", () => {
        model.set("page", i);
        model.save_changes();
      });
      return button;
    });
    setChildren(pages, h("span", { class: "afg-muted" }, `${axis.name}:`), ...buttons);
  };

  // --- the table's frame: labels, and an empty <td> per cell of the page
  const renderSkeleton = () => {
    const axes = model.get("axes") ?? { rows: null, cols: null, pages: null };
    const [, rows, cols] = model.get("shape") ?? [1, 1, 1];
    const page = model.get("page") ?? 0;
    const key = JSON.stringify([axes, rows, cols, page]);
    if (key === skeleton) return;
    skeleton = key;
    shown.clear();
    cellCleanups.forEach((c) => c.run());
    cellCleanups.clear();
    const head = h("tr", {}, h("th", { class: "afg-corner", scope: "col" }, axes.rows && axes.cols ? `${axes.rows.name} \\ ${axes.cols.name}` : axes.rows?.name ?? ""));
    for (let c = 0; c < cols; c++) {
      head.append(h("th", { scope: "col", class: "afg-col-label", "data-testid": "grid-col-label" }, axes.cols?.labels[c] ?? ""));
    }
    tds = [];
    const body = h("tbody");
    for (let r = 0; r < rows; r++) {
      const tr = h("tr", {}, h("th", { scope: "row", class: "afg-row-label", "data-testid": "grid-row-label" }, axes.rows?.labels[r] ?? ""));
      const line: HTMLTableCellElement[] = [];
      for (let c = 0; c < cols; c++) {
        const td = h("td", { class: "afg-cell", "data-testid": "grid-cell", "data-row": r, "data-col": c, "data-page": page });
        line.push(td);
        tr.append(td);
      }
      tds.push(line);
      body.append(tr);
    }
    setChildren(table, axes.cols ? h("thead", {}, head) : null, body);
  };

  // --- one cell
  const renderCell = (td: HTMLTableCellElement, cell: CellState, running: boolean) => {
    cellCleanups.get(cell.index)?.run();
    const local = new Cleanups();
    cellCleanups.set(cell.index, local);
    const name = cellName(cell.labels);
    td.dataset.index = String(cell.index);
    td.dataset.status = cell.status;
    td.title = cell.prompt;
    const repeats = h("div", { class: "afg-repeats" });
    for (const slot of cell.slots) repeats.append(renderSlot(cell, slot, name, local));

    const foot = h("div", { class: "afg-cell-foot" });
    foot.append(h("span", { class: `afg-status afg-status-${cell.status}`, "data-testid": "grid-cell-status", "data-status": cell.status }, statusText(cell)));
    if (cell.slots.length > 1) {
      foot.append(
        h(
          "span",
          { class: "afg-spread", "data-testid": "grid-cell-spread", title: "How much the repeats differ: mean absolute difference over every pair" },
          cell.spread === null ? (cell.slots.filter((s) => s.result_id).length > 1 ? "spread …" : "") : `spread ${percent(cell.spread)}`,
        ),
      );
    }
    const took = cell.slots.map((s) => s.latency_s).filter((s): s is number => typeof s === "number");
    if (took.length) foot.append(h("span", { class: "afg-muted" }, formatSeconds(took.reduce((a, b) => a + b, 0) / took.length)));

    const errors = cell.slots.filter((s) => s.error);
    const failed = cell.slots.some((s) => !s.result_id && ["error", "blocked", "cancelled"].includes(s.status));
    const parts: Array<HTMLElement | null> = [repeats, foot];
    if (errors.length) {
      // The title and the start of the message stay in view; the whole message and the hint open on a click.
      const error = errors[0].error!;
      parts.push(
        h(
          "details",
          { class: `afg-error afg-error-${errors[0].status}`, "data-testid": "grid-cell-error" },
          h("summary", {}, h("strong", {}, error.title), h("span", { class: "afg-error-short" }, error.message)),
          h("p", { class: "afg-error-message" }, error.message),
          error.hint ? h("p", { class: "afg-hint" }, error.hint) : null,
          errors.length > 1 ? h("p", { class: "afg-hint" }, `${errors.length} of ${cell.slots.length} repeats failed.`) : null,
        ),
      );
    }
    if (failed) {
      const retry = h(
        "button",
        {
          type: "button",
          class: "afg-retry",
          "data-testid": "grid-cell-retry",
          "aria-label": `Retry ${name}`,
          disabled: running,
          title: running ? "Wait for the run to end, or cancel it, to retry this cell" : "Send this cell's failed requests again",
        },
        cell.status === "blocked" ? "Retry anyway" : "Retry",
      );
      local.listen(retry, "click", () => model.send({ type: "retry", index: cell.index }));
      parts.push(retry);
    }
    setChildren(td, ...parts);
  };

  const renderSlot = (cell: CellState, slot: SlotState, name: string, local: Cleanups): HTMLElement => {
    const box = h("div", { class: "afg-slot", "data-status": slot.status, "data-repeat": slot.repeat, style: `--afg-aspect: ${slot.size ? `${slot.size[0]} / ${slot.size[1]}` : "1"}` });
    const label = cell.slots.length > 1 ? ` #${slot.repeat + 1}` : "";
    if (slot.result_id) {
      const id = slot.result_id;
      const picture = images.bestPicture(id, edge);
      if (!images.picture(id, edge)) images.want(id, edge);
      const img = h("img", { "data-thumb-id": id, alt: `${name}${label}`, src: picture?.url ?? null, draggable: "false" });
      const open = h("button", { type: "button", class: "afg-thumb", "data-testid": "grid-thumb", "data-id": id, "aria-label": `Enlarge ${name}${label}` }, img);
      local.listen(open, "click", () => ctx.enlarge(cell.index, slot.repeat));
      const pick = h("button", { type: "button", class: "afg-pick", "data-testid": "grid-pick", "data-id": id, "aria-pressed": "false", "aria-label": `Pick ${name}${label} for the A/B view` }, "A/B");
      local.listen(pick, "click", () => picks.toggle(id));
      box.append(open, pick);
    } else {
      const text = h("span", { class: "afg-slot-text" }, slotText(slot));
      const clock = slot.status === "running" && slot.started_at ? h("span", { class: "afg-clock", "data-started": slot.started_at }, "") : null;
      box.append(h("div", { class: "afg-placeholder", "data-testid": "grid-slot-placeholder", role: "img", "aria-label": `${name}${label}: ${slotText(slot)}` }, text, clock));
    }
    return box;
  };

  const renderCells = () => {
    renderSkeleton();
    const cells = cellsOf(model);
    const [, rows, cols] = model.get("shape") ?? [1, 1, 1];
    const page = model.get("page") ?? 0;
    const running = !!model.get("running");
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const cell = cells[cellIndex(page, r, c, rows, cols)];
        const td = tds[r]?.[c];
        if (!cell || !td) continue;
        const key = JSON.stringify([cell, running, edge]);
        if (shown.get(cell.index) === key) continue;
        shown.set(cell.index, key);
        renderCell(td, cell, running);
      }
    }
    syncPicks();
    tick();
  };

  // --- picks and pictures, without rebuilding cells
  const syncPicks = () => {
    const chosen = picks.get();
    table.querySelectorAll<HTMLButtonElement>(".afg-pick").forEach((button) => {
      const at = chosen.indexOf(button.dataset.id ?? "");
      button.setAttribute("aria-pressed", String(at >= 0));
      button.textContent = at === 0 ? "A" : at === 1 ? "B" : "A/B";
      button.closest(".afg-slot")?.classList.toggle("afg-picked", at >= 0);
    });
  };
  cleanups.add(picks.subscribe(syncPicks));
  const syncPictures = () => {
    table.querySelectorAll<HTMLImageElement>("img[data-thumb-id]").forEach((img) => {
      const picture = images.bestPicture(img.dataset.thumbId ?? "", edge);
      if (picture && img.getAttribute("src") !== picture.url) img.src = picture.url;
    });
  };
  cleanups.add(images.subscribe(syncPictures));

  // --- a running slot's clock
  const tick = () => {
    const now = Date.now();
    table.querySelectorAll<HTMLElement>("[data-started]").forEach((clock) => {
      const seconds = elapsed(Number(clock.dataset.started), null, now);
      clock.textContent = seconds === null ? "" : formatSeconds(seconds);
    });
  };
  const timer = setInterval(tick, 500);
  cleanups.add(() => clearInterval(timer));

  // --- sizes follow the width
  const resize = () => {
    const [, , cols] = model.get("shape") ?? [1, 1, 1];
    const width = ctx.root.clientWidth || 900;
    const next = thumbSize(width, cols, model.get("repeats") || 1);
    const nextEdge = edgeFor(next, window.devicePixelRatio || 1);
    if (next !== thumbPx) {
      thumbPx = next;
      ctx.root.style.setProperty("--afg-thumb", `${thumbPx}px`);
    }
    if (nextEdge > edge) {
      edge = nextEdge; // only ever sharper: a smaller window keeps the pictures it has
      renderCells();
    }
  };
  if (typeof ResizeObserver === "function") {
    const observer = new ResizeObserver(() => resize());
    observer.observe(ctx.root);
    cleanups.add(() => observer.disconnect());
  }
  resize();

  watch(model, ["axes", "shape", "page"], renderPages, cleanups);
  watch(model, ["cells", "running", "page", "shape", "axes"], renderCells, cleanups);
  return section;
}
