// Per request: its cell's labels, state, timing, attempts and, for edits, how much changed
// inside and outside the mask; sortable by any column (click its header). Drawn only while
// the panel is open, and at most MAX_ROWS rows of it (in the order chosen), so a grid of
// thousands of requests does not rebuild a table nobody looks at each time it changes.
import { h, setChildren } from "../shared/dom";
import { type Context, watch } from "./context";
import { percent } from "./layout";
import { type SortState, nextSort, sortRows } from "./sort";
import type { Measure } from "./types";

type Column = { key: keyof Measure; label: string | ((ctx: Context) => string); show: (rows: Measure[], ctx: Context) => boolean; format?: (value: unknown) => string; numeric?: boolean };

const MAX_ROWS = 256;
const seconds = (v: unknown) => (typeof v === "number" ? `${v.toFixed(2)} s` : "–");
const COLUMNS: Column[] = [
  { key: "page", label: (ctx) => ctx.model.get("axes")?.pages?.name ?? "page", show: (_r, ctx) => !!ctx.model.get("axes")?.pages },
  { key: "row", label: (ctx) => ctx.model.get("axes")?.rows?.name ?? "row", show: (_r, ctx) => !!ctx.model.get("axes")?.rows },
  { key: "column", label: (ctx) => ctx.model.get("axes")?.cols?.name ?? "column", show: (_r, ctx) => !!ctx.model.get("axes")?.cols },
  { key: "repeat", label: "repeat", show: (_r, ctx) => (ctx.model.get("repeats") ?? 1) > 1, format: (v) => `#${Number(v) + 1}`, numeric: true },
  { key: "status", label: "state", show: () => true },
  { key: "latency_s", label: "latency", show: () => true, format: seconds, numeric: true },
  { key: "attempts", label: "attempts", show: () => true, format: (v) => (v === null ? "–" : String(v)), numeric: true },
  { key: "change_inside", label: "changed inside mask", show: (rows) => rows.some((r) => r.change_inside !== null), format: (v) => percent(v as number), numeric: true },
  { key: "change_outside", label: "changed outside mask", show: (rows) => rows.some((r) => r.change_outside !== null), format: (v) => percent(v as number), numeric: true },
  { key: "cost", label: "cost", show: (rows) => rows.some((r) => r.cost !== null), format: (v) => (typeof v === "number" ? v.toFixed(3) : "–"), numeric: true },
];

export function measuresPanel(ctx: Context): HTMLElement {
  const { model, cleanups } = ctx;
  const table = h("table", { class: "afg-measures", "data-testid": "grid-measures" });
  const summary = h("span", { class: "afg-muted" });
  const panel = h(
    "details",
    { class: "afg-panel afg-measures-panel", "data-testid": "grid-measures-panel" },
    h("summary", {}, h("h3", {}, "Measures"), " ", summary),
    h("div", { class: "afg-table-wrap" }, table),
  );
  let sort: SortState<keyof Measure & string> = null;
  const note = h("p", { class: "afg-muted", "data-testid": "grid-measures-more", hidden: true });
  panel.append(note);

  const render = () => {
    const rows = model.get("measures") ?? [];
    const columns = COLUMNS.filter((c) => c.show(rows, ctx));
    const edits = columns.some((c) => c.key === "change_inside");
    summary.textContent = `(${rows.length} requests: timings${edits ? ", change inside and outside the mask" : ""})`;
    if (!panel.open) return; // drawn when opened
    note.hidden = rows.length <= MAX_ROWS;
    note.textContent = `The first ${MAX_ROWS} of ${rows.length.toLocaleString("en")} requests in this order: sort by a column to see others, or export the CSV.`;
    const head = h(
      "tr",
      {},
      ...columns.map((column) => {
        const label = typeof column.label === "function" ? column.label(ctx) : column.label;
        const state = sort && sort.key === column.key ? sort.direction : "none";
        const button = h(
          "button",
          { type: "button", class: "afg-sort", "data-testid": "grid-measures-sort", "data-key": column.key, "aria-label": `Sort by ${label}` },
          label,
          h("span", { class: "afg-sort-mark", "aria-hidden": "true" }, state === "ascending" ? " ▲" : state === "descending" ? " ▼" : ""),
        );
        button.addEventListener("click", () => {
          sort = nextSort(sort, column.key as keyof Measure & string);
          render();
        });
        return h("th", { scope: "col", "aria-sort": state, class: column.numeric ? "afg-num" : null }, button);
      }),
    );
    const body = h(
      "tbody",
      {},
      ...sortRows(rows as unknown as Array<Record<string, unknown>>, sort).slice(0, MAX_ROWS).map((row) => {
        const measure = row as unknown as Measure;
        return h(
          "tr",
          { "data-testid": "grid-measure", "data-cell": measure.cell, "data-status": measure.status },
          ...columns.map((column) => {
            const value = measure[column.key];
            return h("td", { class: column.numeric ? "afg-num" : null }, column.format ? column.format(value) : String(value ?? "–"));
          }),
        );
      }),
    );
    setChildren(table, h("thead", {}, head), body);
  };
  watch(model, ["measures", "axes", "repeats"], render, cleanups);
  cleanups.listen(panel, "toggle", render);
  return panel;
}
