// Pure: the rating panel's keys.

export type RatingAction = "a" | "b" | "tie" | "skip";
type KeyLike = { key: string; ctrlKey: boolean; metaKey: boolean; altKey: boolean };

/** Left arrow (or 1): the left image wins; Right arrow (or 2): the right one; T (or =): a tie; S: skip.
 *  (Not Space or Enter: those press the focused button or open and close the panel.) */
export function ratingKey(event: KeyLike): RatingAction | null {
  if (event.ctrlKey || event.metaKey || event.altKey) return null; // browser and notebook shortcuts stay theirs
  switch (event.key) {
    case "ArrowLeft":
    case "1":
      return "a";
    case "ArrowRight":
    case "2":
      return "b";
    case "t":
    case "T":
    case "=":
      return "tie";
    case "s":
    case "S":
      return "skip";
    default:
      return null;
  }
}

export type WindowMove = { rows: number; cols: number };
type WindowKeyLike = KeyLike & { shiftKey: boolean };

/** Paging the table of a big grid: Page Down / Page Up the next / previous rows, with Shift the columns. */
export function windowKey(event: WindowKeyLike): WindowMove | null {
  if (event.ctrlKey || event.metaKey || event.altKey) return null;
  const step = event.key === "PageDown" ? 1 : event.key === "PageUp" ? -1 : 0;
  if (!step) return null;
  return event.shiftKey ? { rows: 0, cols: step } : { rows: step, cols: 0 };
}
