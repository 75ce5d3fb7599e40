// Pure: picking two results for the A/B view, and the next blind pair to rate.

/** Toggle `id` in the A/B selection: at most two, the oldest pick dropped for a third. */
export function togglePick(picked: readonly string[], id: string): string[] {
  if (picked.includes(id)) return picked.filter((p) => p !== id);
  return [...picked, id].slice(-2);
}

/** Keep only the picks that still exist (a cell retried, a grid reloaded). */
export function keepPicks(picked: readonly string[], existing: ReadonlySet<string>): string[] {
  return picked.filter((id) => existing.has(id));
}

export type Candidate = { id: string; cell: number };
export type RatedPair = { a: string; b: string };

const pairKey = (a: string, b: string) => (a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`);

/** How many times each unordered pair was rated. */
export function pairCounts(ratings: readonly RatedPair[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of ratings) counts.set(pairKey(r.a, r.b), (counts.get(pairKey(r.a, r.b)) ?? 0) + 1);
  return counts;
}

/**
 * The next blind pair, as [left, right]: two results from different cells, the pair rated
 * least so far (ties broken at random), never the pair just shown when another exists, and
 * a random side for each so position says nothing. Null when fewer than two cells have results.
 * Large grids look at `sample` random pairs instead of all of them.
 */
export function pickRatingPair(
  candidates: readonly Candidate[],
  ratings: readonly RatedPair[],
  random: () => number = Math.random,
  previous: readonly [string, string] | null = null,
  sample = 4000,
): [string, string] | null {
  const counts = pairCounts(ratings);
  const pairs: Array<[Candidate, Candidate]> = [];
  const n = candidates.length;
  const total = (n * (n - 1)) / 2;
  if (total <= sample) {
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (candidates[i].cell !== candidates[j].cell) pairs.push([candidates[i], candidates[j]]);
  } else {
    for (let k = 0; k < sample; k++) {
      const i = Math.floor(random() * n);
      const j = Math.floor(random() * n);
      if (candidates[i].cell !== candidates[j].cell) pairs.push([candidates[i], candidates[j]]);
    }
  }
  if (pairs.length === 0) return null;
  const last = previous ? pairKey(previous[0], previous[1]) : null;
  let best: Array<[Candidate, Candidate]> = [];
  let fewest = Infinity;
  for (const pair of pairs) {
    const key = pairKey(pair[0].id, pair[1].id);
    const seen = (counts.get(key) ?? 0) + (key === last && pairs.length > 1 ? 1e6 : 0);
    if (seen < fewest) {
      fewest = seen;
      best = [pair];
    } else if (seen === fewest) best.push(pair);
  }
  const [x, y] = best[Math.min(best.length - 1, Math.floor(random() * best.length))];
  return random() < 0.5 ? [x.id, y.id] : [y.id, x.id];
}
