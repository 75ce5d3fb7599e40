// Pure: sorting the measures table by one column.

export type SortDirection = "ascending" | "descending";
export type SortState<K extends string = string> = { key: K; direction: SortDirection } | null;

/** Clicking a column's header: a new column sorts ascending, the same one flips, a third click restores the original order. */
export function nextSort<K extends string>(current: SortState<K>, key: K): SortState<K> {
  if (!current || current.key !== key) return { key, direction: "ascending" };
  if (current.direction === "ascending") return { key, direction: "descending" };
  return null;
}

type Value = string | number | boolean | null | undefined;

function compareValues(a: Value, b: Value): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "boolean" && typeof b === "boolean") return Number(a) - Number(b);
  return String(a).localeCompare(String(b), undefined, { numeric: true, sensitivity: "base" });
}

const missing = (value: Value) => value === null || value === undefined || (typeof value === "number" && Number.isNaN(value));

/**
 * `rows` sorted by `state.key` (a copy; the original order without a state). Numbers compare
 * as numbers, text naturally ("fox 2" before "fox 10"); missing values go last in either
 * direction, and equal values keep their original order.
 */
export function sortRows<T extends Record<string, unknown>>(rows: readonly T[], state: SortState<Extract<keyof T, string>> | SortState): T[] {
  const indexed = rows.map((row, index) => ({ row, index }));
  if (!state) return indexed.map((item) => item.row);
  const sign = state.direction === "ascending" ? 1 : -1;
  indexed.sort((x, y) => {
    const a = x.row[state.key] as Value;
    const b = y.row[state.key] as Value;
    if (missing(a) || missing(b)) {
      if (missing(a) && missing(b)) return x.index - y.index;
      return missing(a) ? 1 : -1;
    }
    return sign * compareValues(a, b) || x.index - y.index;
  });
  return indexed.map((item) => item.row);
}
