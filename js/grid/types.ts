// The grid widget's traits and messages (contract in js/grid/README.md), as TypeScript types.
import type { AnyModel } from "@anywidget/types";

export type Axis = { name: string; labels: string[] } | null;

export type ErrorCard = { title: string; message: string; hint: string };

export type SlotStatus = "pending" | "cached" | "running" | "done" | "error" | "blocked" | "cancelled" | "over_budget";

export type SlotState = {
  repeat: number;
  status: SlotStatus;
  result_id: string | null;
  size: [number, number] | null;
  latency_s: number | null;
  revised_prompt: string | null;
  started_at: number | null; // epoch ms
  finished_at: number | null;
  error: ErrorCard | null;
};

export type CellState = {
  index: number;
  page: number;
  row: number;
  col: number;
  labels: [string, string, string]; // page, row, column ("" without that axis)
  prompt: string;
  endpoint: string;
  status: "running" | "error" | "blocked" | "pending" | "cancelled" | "over_budget" | "done";
  cost: number | null;
  spread: number | null; // 0-1
  slots: SlotState[];
};

export type Plan = {
  cells: number;
  requests: number;
  cached: number;
  blocked: number;
  to_send: number;
  cost_to_send: number | null;
  cost_total: number | null;
  budget: number | null; // the grid's spend cap, when it has one
  budget_left: number | null; // neither spent nor held by requests in flight
  fit: number; // of to_send, how many the budget lets go out
  left_unsent: number; // to_send - fit
  text: string;
  counts: Partial<Record<SlotStatus, number>>;
};

/** A result of the grid, wherever it is: [result id, cell index, repeat]. */
export type ResultRef = [string, number, number];

export type Rating = { a: string; b: string; winner: "a" | "b" | "tie" };

export type WinRate = { axis: "page" | "row" | "column"; label: string; comparisons: number; wins: number; ties: number; win_rate: number };

export type Measure = {
  cell: number;
  page: string;
  row: string;
  column: string;
  repeat: number;
  status: SlotStatus;
  latency_s: number | null;
  attempts: number | null;
  change_inside: number | null;
  change_outside: number | null;
  cost: number | null;
  result_id: string | null;
};

export type Notice = { kind?: "error" | "info" | "confirm"; title?: string; message?: string; hint?: string };

export type GridTraits = {
  grid_id: string;
  axes: { rows: Axis; cols: Axis; pages: Axis };
  shape: [number, number, number];
  repeats: number;
  endpoint: string;
  cells: CellState[]; // the cells in view only (the page shown, the window's rows and columns)
  results: ResultRef[]; // every result of the grid
  plan: Plan;
  running: boolean;
  ratings: Rating[];
  win_rates: WinRate[];
  measures: Measure[];
  exports_dir: string;
  notice: Notice;
  page: number;
  window: [number, number]; // the first row and column in view (written by the browser too)
  window_shape: [number, number]; // rows and columns in view at once
};

export type GridModel = AnyModel<GridTraits>;

export type ExportKind = "png" | "html" | "json" | "csv";

/** Python -> browser messages (each with binary buffers). */
export type ThumbsMessage = { type: "thumbs"; edge: number; items: Array<{ id: string; mime: string; size: [number, number] }>; missing: string[] };
export type DifferenceMessage = { type: "difference"; a: string; b: string; mean: number; size: [number, number]; mime: string };
export type DownloadMessage = { type: "download"; kind: ExportKind; name: string; mime: string; path: string };
export type PythonMessage = ThumbsMessage | DifferenceMessage | DownloadMessage;
