/**
 * The median of the benchmarks' per-round figures: for an even count, the mean of the two
 * middle values. Before 2026-12-05 (session 24) the scripts took the upper of the two, which
 * read high by half their gap whenever BENCH_ROUNDS was even.
 */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
