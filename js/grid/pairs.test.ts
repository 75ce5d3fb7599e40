import { describe, expect, it } from "vitest";
import { keepPicks, pairCounts, pickRatingPair, togglePick } from "./pairs";

/** A deterministic stand-in for Math.random. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length];
}

describe("picking two results for the A/B view", () => {
  it("keeps at most two picks, dropping the oldest, and unpicks on a second click", () => {
    expect(togglePick([], "a")).toEqual(["a"]);
    expect(togglePick(["a"], "b")).toEqual(["a", "b"]);
    expect(togglePick(["a", "b"], "c")).toEqual(["b", "c"]);
    expect(togglePick(["a", "b"], "a")).toEqual(["b"]);
  });

  it("forgets picks whose results are gone", () => {
    expect(keepPicks(["a", "b"], new Set(["b", "c"]))).toEqual(["b"]);
  });
});

describe("the next blind pair", () => {
  const candidates = [
    { id: "r1", cell: 0 },
    { id: "r2", cell: 0 },
    { id: "r3", cell: 1 },
  ];

  it("never pairs two repeats of one cell", () => {
    for (let k = 0; k < 20; k++) {
      const pair = pickRatingPair(candidates, [], Math.random)!;
      expect(pair).toContain("r3");
    }
  });

  it("needs two cells with results", () => {
    expect(pickRatingPair(candidates.slice(0, 2), [])).toBeNull();
    expect(pickRatingPair([], [])).toBeNull();
  });

  it("prefers the pair rated least, in either order", () => {
    const ratings = [
      { a: "r1", b: "r3" },
      { a: "r3", b: "r1" },
    ];
    expect(pairCounts(ratings).size).toBe(1);
    const pair = pickRatingPair(candidates, ratings, sequence(0.2, 0.7))!;
    expect([...pair].sort()).toEqual(["r2", "r3"]);
  });

  it("does not show the same pair twice in a row when there is another", () => {
    const pair = pickRatingPair(candidates, [], sequence(0, 0.9), ["r1", "r3"])!;
    expect([...pair].sort()).toEqual(["r2", "r3"]);
  });

  it("puts either result on the left, at random", () => {
    const two = [
      { id: "x", cell: 0 },
      { id: "y", cell: 1 },
    ];
    expect(pickRatingPair(two, [], sequence(0, 0.1))).toEqual(["x", "y"]);
    expect(pickRatingPair(two, [], sequence(0, 0.9))).toEqual(["y", "x"]);
  });

  it("samples pairs in a large grid instead of listing them all", () => {
    const many = Array.from({ length: 400 }, (_, i) => ({ id: `r${i}`, cell: Math.floor(i / 4) }));
    const pair = pickRatingPair(many, [], Math.random, null, 500)!;
    const cells = pair.map((id) => many.find((c) => c.id === id)!.cell);
    expect(cells[0]).not.toBe(cells[1]);
  });
});
