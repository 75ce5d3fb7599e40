// Pure: the studio's keyboard shortcuts (js/README.md, "Keyboard"), key press -> action.
import type { Tool } from "./types";

export type Shortcut =
  | { action: "undo" | "redo" | "smaller" | "bigger" | "fit" | "actual-size" | "swap-mode" }
  | { action: "tool"; tool: Tool };

const TOOL_KEYS: Record<string, Tool> = { b: "brush", r: "rect", e: "ellipse", l: "lasso", p: "polygon", w: "color" };

/** The shortcut for a key press, if any (keys the polygon tool and Space use are handled where they act). */
export function shortcutFor(event: Pick<KeyboardEvent, "key" | "ctrlKey" | "metaKey" | "shiftKey" | "altKey">): Shortcut | null {
  const command = event.ctrlKey || event.metaKey;
  const key = event.key.toLowerCase();
  if (command && !event.altKey) {
    if (key === "z") return { action: event.shiftKey ? "redo" : "undo" };
    if (key === "y" && !event.shiftKey) return { action: "redo" };
    return null;
  }
  if (command || event.altKey) return null;
  if (event.key === "[") return { action: "smaller" };
  if (event.key === "]") return { action: "bigger" };
  if (event.key === "0") return { action: "fit" };
  if (event.key === "1") return { action: "actual-size" };
  if (event.shiftKey) return null;
  if (key === "x") return { action: "swap-mode" };
  const tool = TOOL_KEYS[key];
  return tool ? { action: "tool", tool } : null;
}

/** The next brush radius for `[` / `]`: about 20 % per press, at least 1 px, within bounds. */
export function stepRadius(radius: number, direction: -1 | 1, min: number, max: number): number {
  const factor = 1.2;
  let next = direction > 0 ? Math.max(radius * factor, radius + 1) : Math.min(radius / factor, radius - 1);
  next = Math.round(next);
  return Math.min(max, Math.max(min, next));
}
