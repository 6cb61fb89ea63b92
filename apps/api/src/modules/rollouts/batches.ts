/**
 * Splits members into batches: everything at once, or a canary (a share of the members, at
 * least one agent) followed by batches of `batchSize`. Order is kept (members come sorted).
 */
export function planBatches(
  ids: string[],
  strategy: 'all' | 'staged',
  canaryPercent: number | undefined,
  batchSize: number,
): string[][] {
  if (strategy === 'all' || !ids.length) return [ids];
  const out: string[][] = [];
  let rest = ids;
  if (canaryPercent) {
    const n = Math.min(ids.length, Math.max(1, Math.ceil((ids.length * canaryPercent) / 100)));
    out.push(rest.slice(0, n));
    rest = rest.slice(n);
  }
  for (let i = 0; i < rest.length; i += batchSize) out.push(rest.slice(i, i + batchSize));
  return out;
}
