// The synced traits and messages of the contract in js/README.md, as TypeScript types.
import type { AnyModel } from "@anywidget/types";

import type { Bytes } from "../shared/bytes";
export type { Bytes };

export type Mode = "paint" | "erase";

export type Tool = "brush" | "rect" | "ellipse" | "lasso" | "polygon" | "color";

export type StrokeOp = { op: "stroke"; points: number[]; radius: number; mode: Mode };
export type BoxOp = { op: "rect" | "ellipse"; box: [number, number, number, number]; mode: Mode };
export type PolygonOp = { op: "polygon"; points: number[]; mode: Mode };
export type ColorOp = { op: "color"; point: [number, number]; tolerance: number; contiguous: boolean; mode: Mode };
/** One mask edit (js/README.md, "Mask edits"): what one use of a tool sends. */
export type Op = StrokeOp | BoxOp | PolygonOp | ColorOp | { op: "clear" } | { op: "invert" };

export type Brush = {
  tool: Tool;
  radius: number;
  mode: Mode;
  opacity: number;
  visible: boolean;
  colour: string;
  outline: boolean;
  tolerance: number;
  contiguous: boolean;
};
export type MaskTools = { grow: number; feather: number; keep_outside: boolean };

export type Control = {
  name: string;
  label: string;
  kind: "select" | "size" | "int";
  /** Size controls on edits: the size asked for when none is chosen ("WxH"). */
  auto?: string;
  options?: string[];
  default?: string | number | null;
  min?: number | null;
  max?: number | null;
  help?: string;
};

export type Violation = { field: string; rule: string; message: string; fix: string };

export type Source = {
  id: string;
  name: string;
  width: number;
  height: number;
  format: string;
  note: string;
  thumb: Bytes;
  extended?: { original: [number, number]; offset: [number, number] };
};

export type MaskCheck = { label: string; ok: boolean; message: string };

export type JobError = { title: string; message: string; hint: string };
export type JobStatus = "queued" | "running" | "done" | "error" | "cancelled";
export type Job = {
  id: string;
  variant: number;
  status: JobStatus;
  started_at: number | null;
  finished_at: number | null;
  error: JobError | null;
  result_id: string | null;
};

export type Result = {
  id: string;
  endpoint: "generations" | "edits";
  prompt: string;
  revised_prompt: string | null;
  size: [number, number];
  format: string;
  created_at: number;
  elapsed_s: number;
  preview: Bytes; // null while Python makes it (the history shows first), empty bytes if it cannot be made
  preview_mime: string | null;
  change_outside: number | null;
  change_inside: number | null;
  kept_outside: boolean;
  params: Record<string, unknown>;
  file_name: string;
};

export type Notice = { kind?: "error" | "warning" | "info"; title?: string; message?: string; hint?: string };

export type Params = Record<string, string | number | null | undefined>;

/** The API's counts, from Python's rules (one source of truth). */
export type Limits = { variants: number; sources: number };

export interface Traits {
  // written by the frontend (and Python)
  prompt: string;
  params: Params;
  variants: number;
  brush: Brush;
  mask_tools: MaskTools;
  // written by Python only
  endpoint: "generations" | "edits";
  controls: Control[];
  violations: Violation[];
  run_blocked: string;
  source_cards: Source[];
  canvas_image: Bytes;
  canvas_size: [number, number] | number[];
  mask_history: { undo: number; redo: number };
  coverage: number;
  mask_checks: MaskCheck[];
  jobs: Job[];
  running: boolean;
  gallery: Result[];
  gallery_more: boolean;
  offline: boolean;
  key_missing: boolean;
  spend: Spend;
  notice: Notice;
  limits: Limits;
}

/** The session's spend, counted by Python (`_spend`); `text` is what the widget shows, empty without prices. */
export type Spend = { spent: number; budget: number | null; left: number | null; next_run: number | null; text: string };

export type Model = AnyModel<Traits>;

/** Python -> frontend: the answer to a `fetch` message. */
export type FileMessage = { type: "file"; id: string; purpose: "download" | "enlarge"; name: string; mime: string };

/** Python -> frontend: the mask changed in `box` (canvas px: x, y, w, h); buffers [painted, send?] of packed bits. */
export type MaskMessage = { type: "mask"; version: number; box: [number, number, number, number]; full: boolean; size?: [number, number] };

/** Python -> frontend: the answer to a `view` message, the image's bytes in buffers[0]. */
export type ViewMessage = { type: "view"; box: [number, number, number, number]; mime: string };
