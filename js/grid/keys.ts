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
