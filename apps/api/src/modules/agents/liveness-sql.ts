/**
 * Liveness deadlines, in SQL, from the declared interval (seconds) and the jitter EWMA (ms):
 * stale after 2 missed intervals, offline after 5, each widened by min(3 × jitter, one
 * interval) so a slightly late agent does not flap.
 */
const graceMs = (interval: string, jitter: string) => `LEAST(3 * ${jitter}, ${interval} * 1000.0)`;

export const staleAtSql = (interval: string, jitter: string) =>
  `now() + make_interval(secs => (2 * ${interval} * 1000.0 + ${graceMs(interval, jitter)}) / 1000.0)`;

export const offlineAtSql = (interval: string, jitter: string) =>
  `now() + make_interval(secs => (5 * ${interval} * 1000.0 + ${graceMs(interval, jitter)}) / 1000.0)`;
