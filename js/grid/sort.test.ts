import { describe, expect, it } from "vitest";
import { nextSort, sortRows } from "./sort";

const rows = [
  { name: "fox 10", latency: 2.5, change: null },
  { name: "fox 2", latency: 0.7, change: 0.1 },
  { name: "Owl", latency: null, change: 0.3 },
  { name: "hare", latency: 0.7, change: 0.05 },
];

describe("sorting the measures table", () => {
  it("cycles a column through ascending, descending and the original order", () => {
    const first = nextSort(null, "latency");
    expect(first).toEqual({ key: "latency", direction: "ascending" });
    const second = nextSort(first, "latency");
    expect(second).toEqual({ key: "latency", direction: "descending" });
    expect(nextSort(second, "latency")).toBeNull();
    expect(nextSort(second, "name")).toEqual({ key: "name", direction: "ascending" });
  });

  it("sorts numbers as numbers, keeps ties in their order and puts missing values last", () => {
    expect(sortRows(rows, { key: "latency", direction: "ascending" }).map((r) => r.name)).toEqual(["fox 2", "hare", "fox 10", "Owl"]);
    expect(sortRows(rows, { key: "latency", direction: "descending" }).map((r) => r.name)).toEqual(["fox 10", "fox 2", "hare", "Owl"]);
    expect(sortRows(rows, { key: "change", direction: "descending" }).map((r) => r.name)).toEqual(["Owl", "fox 2", "hare", "fox 10"]);
  });

  it("sorts text naturally and ignoring case", () => {
    expect(sortRows(rows, { key: "name", direction: "ascending" }).map((r) => r.name)).toEqual(["fox 2", "fox 10", "hare", "Owl"]);
  });

  it("returns the original order without a sort, never touching the input", () => {
    const copy = [...rows];
    expect(sortRows(rows, null)).toEqual(rows);
    sortRows(rows, { key: "name", direction: "descending" });
    expect(rows).toEqual(copy);
  });
});
