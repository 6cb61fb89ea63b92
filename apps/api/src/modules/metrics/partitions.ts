/**
 * Partition layout of the metrics tables (all UTC): raw and 1m rollups by day, 1h rollups by
 * month, 1d rollups by year. Names carry the range start so retention can read them back.
 */
export type StorageLevel = 'raw' | '1m' | '1h' | '1d';

export const PARENT_TABLE: Record<StorageLevel, string> = {
  raw: 'metric_raw',
  '1m': 'metric_rollup_1m',
  '1h': 'metric_rollup_1h',
  '1d': 'metric_rollup_1d',
};

const DAY = 86_400_000;

/**
 * Span of a raw chunk: every timestamp of a `metric_raw` row falls in the same window of this
 * width (UTC, from the epoch) as its first one, `t0`. It divides a day, so a chunk never
 * crosses a partition; readers of [from, to) look at chunks with t0 in (from - span, to).
 */
export const RAW_CHUNK_MS = 15 * 60_000;

/** Start of the partition holding `ms`. */
export function partitionStart(level: StorageLevel, ms: number): number {
  const d = new Date(ms);
  switch (level) {
    case 'raw':
    case '1m':
      return Math.floor(ms / DAY) * DAY;
    case '1h':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    case '1d':
      return Date.UTC(d.getUTCFullYear(), 0, 1);
  }
}

/** Start of the partition after the one starting at `start`. */
export function partitionEnd(level: StorageLevel, start: number): number {
  const d = new Date(start);
  switch (level) {
    case 'raw':
    case '1m':
      return start + DAY;
    case '1h':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    case '1d':
      return Date.UTC(d.getUTCFullYear() + 1, 0, 1);
  }
}

const pad = (n: number) => String(n).padStart(2, '0');

export function partitionName(level: StorageLevel, start: number): string {
  const d = new Date(start);
  const y = String(d.getUTCFullYear());
  const suffix =
    level === 'raw' || level === '1m'
      ? `${y}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}`
      : level === '1h'
        ? `${y}${pad(d.getUTCMonth() + 1)}`
        : y;
  return `${PARENT_TABLE[level]}_p${suffix}`;
}

/** The range start encoded in a partition name, or null when the name is not one of ours. */
export function parsePartitionName(level: StorageLevel, name: string): number | null {
  const prefix = `${PARENT_TABLE[level]}_p`;
  if (!name.startsWith(prefix)) return null;
  const s = name.slice(prefix.length);
  if (!/^\d+$/.test(s)) return null;
  if ((level === 'raw' || level === '1m') && s.length === 8) {
    return Date.UTC(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8));
  }
  if (level === '1h' && s.length === 6) return Date.UTC(+s.slice(0, 4), +s.slice(4, 6) - 1, 1);
  if (level === '1d' && s.length === 4) return Date.UTC(+s, 0, 1);
  return null;
}

/** Rollup bucket width in ms. */
export const BUCKET_MS: Record<Exclude<StorageLevel, 'raw'>, number> = {
  '1m': 60_000,
  '1h': 3_600_000,
  '1d': DAY,
};
