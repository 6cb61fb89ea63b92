/**
 * The sparse log-bucket histogram stored in rollups (`hk` keys, `hc` counts), mirroring the
 * SQL function `metric_hkey`: key 0 holds zeros, ±(16000 + ceil(log_1.04 |v|)) the rest.
 * A bucket's representative is its geometric middle, so a quantile is within ~2% of the truth.
 */
const GAMMA = 1.04;
const OFFSET = 16000;

export function hkey(v: number): number {
  if (Math.abs(v) < 1e-9) return 0;
  const k = Math.max(-15000, Math.min(15000, Math.ceil(Math.log(Math.abs(v)) / Math.log(GAMMA))));
  return Math.sign(v) * (OFFSET + k);
}

export function hvalue(key: number): number {
  if (key === 0) return 0;
  const k = Math.abs(key) - OFFSET;
  return Math.sign(key) * Math.pow(GAMMA, k - 0.5);
}

export class Histogram {
  private readonly counts = new Map<number, number>();
  total = 0;

  add(keys: number[], counts: number[]): void {
    for (let i = 0; i < keys.length; i++) {
      this.counts.set(keys[i], (this.counts.get(keys[i]) ?? 0) + Number(counts[i]));
      this.total += Number(counts[i]);
    }
  }

  /** The q-quantile (0..1), clamped to the observed [min, max]. */
  quantile(q: number, min: number, max: number): number | null {
    if (!this.total) return null;
    const sorted = [...this.counts.entries()].sort((a, b) => hvalue(a[0]) - hvalue(b[0]));
    const rank = q * this.total;
    let cum = 0;
    for (const [k, c] of sorted) {
      cum += c;
      if (cum >= rank) return Math.min(max, Math.max(min, hvalue(k)));
    }
    return max;
  }
}
