// The grid itself: column labels across, row labels down, one cell per (row, column) of
// the page and window shown, each with its repeats side by side as they arrive. A cell
// shows its state, how much its repeats differ, its error and a Retry button; a picture
// opens enlarged, and its A/B button picks it for the A/B view. Changes are drawn once
// per animation frame, only the cells whose state changed; the table holds the pictures
// of the cells in view and no others (images.ts).
import { Cleanups, formatSeconds, h, setChildren } from "../shared/dom";
import { type Context, cellsOf, watch } from "./context";
import { cellIndex, cellName, edgeFor, elapsed, percent, thumbSize } from "./layout";
import { pagerPanel, windowOf } from "./pager";
import type { CellState, SlotState } from "./types";

const CALM_ABOVE = 8; // running pictures in view above which their placeholders stop pulsing (repainted every frame)
const FRAME_BUDGET_MS = 8; // of script per frame for the cells that changed: the rest of a frame is layout and paint
// Cells redrawn per frame, whatever the script took: each brings a dozen new boxes to style and
// lay out, and on a busy machine (the kernel filling the grid on the same cores) 30 cells' worth
// took 50 ms of rendering in one frame. 12 a frame still redraws a 64-cell page in 6 frames.
const CELLS_PER_FRAME = 12;

const STATUS_TEXT: Record<CellState["status"], string> = {
  done: "done",
  running: "running",
  error: "failed",
  blocked: "blocked by moderation",
  pending: "waiting",
  cancelled: "cancelled",
  over_budget: "over budget: not sent",
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
  // Focusable, so that Page Up / Page Down page a big grid (pager.ts).
  const wrap = h("div", { class: "afg-table-wrap", tabindex: 0, "aria-label": "Cells of the grid" }, table);
  const section = h("section", { class: "afg-grid", "aria-label": "Comparison grid" }, pages, pagerPanel(ctx, wrap), wrap);
  const holder = {}; // this view's table, as the image cache knows it
  cleanups.add(() => images.hold(holder, []));

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

  // --- the table's frame: labels, and an empty <td> per cell of the page and window in view
  const renderSkeleton = () => {
    const axes = model.get("axes") ?? { rows: null, cols: null, pages: null };
    const [, totalRows, totalCols] = model.get("shape") ?? [1, 1, 1];
    const page = model.get("page") ?? 0;
    const w = windowOf(ctx);
    const rows = Math.max(0, Math.min(w.rows, totalRows - w.row));
    const cols = Math.max(0, Math.min(w.cols, totalCols - w.col));
    const key = JSON.stringify([axes, totalRows, totalCols, page, w]);
    if (key === skeleton) return;
    skeleton = key;
    shown.clear();
    cellCleanups.forEach((c) => c.run());
    cellCleanups.clear();
    const head = h("tr", {}, h("th", { class: "afg-corner", scope: "col" }, axes.rows && axes.cols ? `${axes.rows.name} \\ ${axes.cols.name}` : axes.rows?.name ?? ""));
    for (let c = 0; c < cols; c++) {
      head.append(h("th", { scope: "col", class: "afg-col-label", "data-testid": "grid-col-label" }, axes.cols?.labels[w.col + c] ?? ""));
    }
    tds = [];
    const body = h("tbody");
    for (let r = 0; r < rows; r++) {
      const tr = h("tr", {}, h("th", { scope: "row", class: "afg-row-label", "data-testid": "grid-row-label" }, axes.rows?.labels[w.row + r] ?? ""));
      const line: HTMLTableCellElement[] = [];
      for (let c = 0; c < cols; c++) {
        const td = h("td", { class: "afg-cell", "data-testid": "grid-cell", "data-row": w.row + r, "data-col": w.col + c, "data-page": page });
        line.push(td);
        tr.append(td);
      }
      tds.push(line);
      body.append(tr);
    }
    table.classList.toggle("afg-rows-named", !!axes.rows); // (a grid without a row axis has no labels to keep whole)
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
      // decoding="async": 64 pictures arriving in a burst are decoded off the frame that shows them
      const img = h("img", { "data-thumb-id": id, alt: `${name}${label}`, src: picture?.url ?? null, draggable: "false", decoding: "async" });
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
    cancelAnimationFrame(frame);
    frame = 0;
    renderSkeleton();
    const byIndex = new Map(cellsOf(model).map((cell) => [cell.index, cell]));
    const [, rows, cols] = model.get("shape") ?? [1, 1, 1];
    const page = model.get("page") ?? 0;
    const w = windowOf(ctx);
    const running = !!model.get("running");
    const pictures: Array<[string, number]> = [];
    let runningSlots = 0;
    const until = performance.now() + FRAME_BUDGET_MS;
    let drawn = 0;
    let more = false;
    tds.forEach((line, r) =>
      line.forEach((td, c) => {
        const cell = byIndex.get(cellIndex(page, w.row + r, w.col + c, rows, cols));
        if (!cell) return; // not come from Python yet (just paged to)
        for (const slot of cell.slots) {
          if (slot.result_id) pictures.push([slot.result_id, edge]);
          else if (slot.status === "running") runningSlots += 1;
        }
        const key = JSON.stringify([cell, running, edge]);
        if (shown.get(cell.index) === key) return;
        if (more || (first && (drawn >= CELLS_PER_FRAME || performance.now() > until))) {
          more = true; // the rest in the next frame: no frame is held up by a burst of results
          return;
        }
        drawn += 1;
        shown.set(cell.index, key);
        renderCell(td, cell, running);
      }),
    );
    first = true;
    if (more) scheduleCells();
    ctx.root.classList.toggle("afg-calm", runningSlots > CALM_ABOVE);
    images.hold(holder, pictures); // the pictures of cells paged away are let go
    syncPicks();
    tick();
  };
  // Python's updates come in bursts while a grid fills: draw them once per frame, and at most
  // FRAME_BUDGET_MS of them per frame (the first page is drawn whole, at once).
  let frame = 0;
  let first = false;
  const scheduleCells = () => {
    if (!frame) frame = requestAnimationFrame(renderCells);
  };
  cleanups.add(() => cancelAnimationFrame(frame));

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
    const [, , totalCols] = model.get("shape") ?? [1, 1, 1];
    const width = ctx.root.clientWidth || 900;
    const next = thumbSize(width, Math.min(totalCols, windowOf(ctx).cols), model.get("repeats") || 1);
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
    // Only when the width changes: reading clientWidth forces a layout, and the height changes as cells fill.
    let observed = -1;
    const observer = new ResizeObserver((entries) => {
      const width = entries[entries.length - 1]?.contentRect.width ?? -1;
      if (width === observed) return;
      observed = width;
      resize();
    });
    observer.observe(ctx.root);
    cleanups.add(() => observer.disconnect());
  }
  resize();

  watch(model, ["axes", "shape", "page"], renderPages, cleanups);
  watch(model, ["cells", "running", "page", "shape", "axes", "window", "window_shape"], scheduleCells, cleanups, false);
  renderCells(); // the first page at once, not a frame later
  return section;
}
