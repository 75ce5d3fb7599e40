// The window of a big grid: which rows and columns the table shows (`window`, at most
// `window_shape` of them), buttons to page through them, and Page Up / Page Down (Shift:
// the columns) with focus in the table. Python sends the cells of the window in view
// only, and the table holds only their pictures, so a grid of 1,024 cells shows as fast
// as one of 64.
import { h, isTextEntry, setChildren } from "../shared/dom";
import { type Context, watch } from "./context";
import { windowKey } from "./keys";
import { moveWindow, windowText } from "./layout";

/** The window in view: first row and column, and how many rows and columns. */
export function windowOf(ctx: Pick<Context, "model">): { row: number; col: number; rows: number; cols: number } {
  const [, rows, cols] = ctx.model.get("shape") ?? [1, 1, 1];
  const [row, col] = ctx.model.get("window") ?? [0, 0];
  const [height, width] = ctx.model.get("window_shape") ?? [rows, cols];
  return { row: Math.min(row, rows - 1), col: Math.min(col, cols - 1), rows: Math.max(1, height), cols: Math.max(1, width) };
}

/** The pager above the table (hidden when the whole page fits); `within` is where its keys work. */
export function pagerPanel(ctx: Context, within: HTMLElement): HTMLElement {
  const { model, cleanups } = ctx;
  const nav = h("nav", { class: "afg-window", "data-testid": "grid-window", "aria-label": "Rows and columns in view" });

  const move = (rows: number, cols: number) => {
    const [, totalRows, totalCols] = model.get("shape") ?? [1, 1, 1];
    const w = windowOf(ctx);
    const next: [number, number] = [moveWindow(w.row, w.rows, totalRows, rows), moveWindow(w.col, w.cols, totalCols, cols)];
    if (next[0] === w.row && next[1] === w.col) return;
    model.set("window", next);
    model.save_changes();
  };

  const button = (testid: string, text: string, label: string, disabled: boolean, rows: number, cols: number) => {
    const b = h("button", { type: "button", class: "afg-window-step", "data-testid": testid, "aria-label": label, disabled }, text);
    b.addEventListener("click", () => move(rows, cols));
    return b;
  };

  const render = () => {
    const [, totalRows, totalCols] = model.get("shape") ?? [1, 1, 1];
    const w = windowOf(ctx);
    const pagedRows = totalRows > w.rows;
    const pagedCols = totalCols > w.cols;
    nav.hidden = !pagedRows && !pagedCols;
    if (nav.hidden) return setChildren(nav);
    setChildren(
      nav,
      pagedRows
        ? h(
            "span",
            { class: "afg-window-axis" },
            button("grid-rows-prev", "▲", "Previous rows (Page Up)", w.row === 0, -1, 0),
            h("span", { "data-testid": "grid-window-rows" }, windowText("rows", w.row, w.rows, totalRows)),
            button("grid-rows-next", "▼", "Next rows (Page Down)", w.row + w.rows >= totalRows, 1, 0),
          )
        : null,
      pagedCols
        ? h(
            "span",
            { class: "afg-window-axis" },
            button("grid-cols-prev", "◀", "Previous columns (Shift+Page Up)", w.col === 0, 0, -1),
            h("span", { "data-testid": "grid-window-cols" }, windowText("columns", w.col, w.cols, totalCols)),
            button("grid-cols-next", "▶", "Next columns (Shift+Page Down)", w.col + w.cols >= totalCols, 0, 1),
          )
        : null,
      h("span", { class: "afg-muted afg-window-keys" }, `Page Up / Page Down${pagedCols ? ", with Shift for columns" : ""}`),
    );
  };

  // On the window, capturing: JupyterLab scrolls the notebook on Page Down before an output sees it.
  cleanups.listen<KeyboardEvent>(window, "keydown", (event) => {
    if (nav.hidden || !(event.target instanceof Node) || !(within.contains(event.target) || nav.contains(event.target))) return;
    if (isTextEntry(event.target)) return;
    const step = windowKey(event);
    if (!step) return;
    event.preventDefault();
    event.stopPropagation();
    move(step.rows, step.cols);
  }, true);

  watch(model, ["shape", "window", "window_shape"], render, cleanups);
  return nav;
}
