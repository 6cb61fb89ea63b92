import { CronExpressionParser } from 'cron-parser';

/**
 * The period a scheduled report covers when it runs at `at`: as long as one cron interval,
 * ending at `at`. For a run at an occurrence that is exactly [previous occurrence, this one)
 * (weekly Monday 08:00 → the week before); "run now" covers the same length up to now.
 */
export function reportPeriod(cron: string, tz: string, at: Date): { from: Date; to: Date } {
  // The first occurrence at or after `at`, and the one before it, give the interval length.
  const next = CronExpressionParser.parse(cron, { currentDate: new Date(at.getTime() - 1), tz })
    .next()
    .toDate();
  const prev = CronExpressionParser.parse(cron, { currentDate: next, tz }).prev().toDate();
  return { from: new Date(at.getTime() - (next.getTime() - prev.getTime())), to: at };
}

/** The first occurrence strictly after `after`. Throws on a bad expression or time zone. */
export function nextOccurrence(cron: string, tz: string, after: Date): Date {
  return CronExpressionParser.parse(cron, { currentDate: after, tz }).next().toDate();
}
