/*
 * When a rollout batch counts as unhealthy because of its agents' `error_rate` (percent, see
 * METRIC_UNITS): the thresholds are documented in the README (Fleet → rollouts).
 */

/** A batch fails when an agent's error_rate rises by more than this many percentage points… */
export const ERROR_RATE_UP_POINTS = 5;
/** …and to more than this multiple of its level before the batch. */
export const ERROR_RATE_UP_FACTOR = 1.5;
/** The baseline is the error_rate over the pause before the batch, but at least this long. */
export const ERROR_BASELINE_MIN_SEC = 300;

export function isErrorRateUp(before: number, during: number): boolean {
  return during - before > ERROR_RATE_UP_POINTS && during > before * ERROR_RATE_UP_FACTOR;
}
