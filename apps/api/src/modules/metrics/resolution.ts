import type { Resolution } from '@agent-monitor/contracts';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

/** Bucket widths a chart may get, smallest first. */
export const NICE_STEPS = [
  S,
  2 * S,
  5 * S,
  10 * S,
  15 * S,
  30 * S,
  M,
  2 * M,
  5 * M,
  10 * M,
  15 * M,
  30 * M,
  H,
  2 * H,
  3 * H,
  6 * H,
  12 * H,
  D,
  2 * D,
  7 * D,
  30 * D,
];

export const LEVEL_MS: Record<Exclude<Resolution, 'raw'>, number> = { '1m': M, '1h': H, '1d': D };

export const MAX_POINTS = 1000;

export function parseStep(step: string): number | null {
  if (step === 'auto') return null;
  const m = /^(\d+)(s|m|h|d)$/.exec(step);
  if (!m) return null;
  return Number(m[1]) * { s: S, m: M, h: H, d: D }[m[2] as 's'];
}

export interface Retention {
  raw: number;
  '1m': number;
  '1h': number;
  '1d': number | null;
}

/**
 * Picks the bucket width and the storage level for a query. `auto` gives the smallest nice
 * step yielding at most `maxPoints` points; the level is the coarsest whose bucket divides the
 * step (so buckets combine exactly) and whose retention still covers `from`.
 */
export function chooseResolution(
  fromMs: number,
  toMs: number,
  stepMs: number | null,
  nowMs: number,
  retention: Retention,
  maxPoints = MAX_POINTS,
): { stepMs: number; resolution: Resolution } {
  const span = Math.max(1, toMs - fromMs);
  let step =
    stepMs ?? NICE_STEPS.find((s) => span / s <= maxPoints) ?? NICE_STEPS[NICE_STEPS.length - 1];
  // An explicit step that would return too many points is widened.
  if (span / step > maxPoints * 10) step = Math.ceil(span / (maxPoints * 10) / S) * S;
  const levels: Array<Exclude<Resolution, 'raw'>> = ['1d', '1h', '1m'];
  let resolution: Resolution = 'raw';
  for (const l of levels) {
    if (step >= LEVEL_MS[l] && step % LEVEL_MS[l] === 0) {
      resolution = l;
      break;
    }
  }
  // Older than a level keeps: go coarser (and widen the step to that level's bucket).
  const order: Resolution[] = ['raw', '1m', '1h', '1d'];
  for (let i = order.indexOf(resolution); i < order.length - 1; i++) {
    const keep = retention[order[i] as keyof Retention];
    if (keep === null || fromMs >= nowMs - keep) break;
    resolution = order[i + 1];
    const b = LEVEL_MS[resolution as Exclude<Resolution, 'raw'>];
    step = Math.max(b, Math.ceil(step / b) * b);
  }
  return { stepMs: step, resolution };
}
