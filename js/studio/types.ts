// The synced traits and messages of the contract in js/README.md, as TypeScript types.
import type { AnyModel } from "@anywidget/types";

import type { Bytes } from "../shared/bytes";
export type { Bytes };

export type Mode = "paint" | "erase";

export type StrokeOp = { op: "stroke"; points: number[]; radius: number; mode: Mode };
export type Op = StrokeOp | { op: "clear" } | { op: "invert" };

export type Brush = { radius: number; mode: Mode; opacity: number; visible: boolean };
export type MaskTools = { grow: number; feather: number; keep_outside: boolean };

export type Control = {
  name: string;
  label: string;
  kind: "select" | "size" | "int";
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
  preview: Bytes;
  preview_mime: string;
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
  mask_edits: Op[];
  mask_redo: Op[];
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
  base_mask: Bytes;
  send_preview: Bytes;
  coverage: number;
  mask_checks: MaskCheck[];
  jobs: Job[];
  running: boolean;
  gallery: Result[];
  notice: Notice;
  limits: Limits;
}

export type Model = AnyModel<Traits>;

/** Python -> frontend: the answer to a `fetch` message. */
export type FileMessage = { type: "file"; id: string; purpose: "download" | "enlarge"; name: string; mime: string };
