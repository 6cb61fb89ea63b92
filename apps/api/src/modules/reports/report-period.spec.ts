import { nextOccurrence, reportPeriod } from './report-period.js';

describe('scheduled report periods', () => {
  it('a weekly run on its occurrence covers the week before it', () => {
    // Monday 2026-11-16 08:00 in Berlin is 07:00 UTC.
    const at = new Date('2026-11-16T07:00:00.000Z');
    expect(reportPeriod('0 8 * * 1', 'Europe/Berlin', at)).toEqual({
      from: new Date('2026-11-09T07:00:00.000Z'),
      to: at,
    });
  });

  it('run now covers one interval up to now', () => {
    const at = new Date('2026-11-18T12:34:00.000Z');
    const p = reportPeriod('0 8 * * 1', 'UTC', at);
    expect(p.to).toEqual(at);
    expect(p.to.getTime() - p.from.getTime()).toBe(7 * 86_400_000);
    expect(reportPeriod('0 * * * *', 'UTC', at).from).toEqual(new Date('2026-11-18T11:34:00.000Z'));
  });

  it('the next occurrence follows the time zone', () => {
    expect(nextOccurrence('0 8 * * 1', 'UTC', new Date('2026-11-16T08:00:00.000Z'))).toEqual(
      new Date('2026-11-23T08:00:00.000Z'),
    );
    expect(
      nextOccurrence('0 8 * * 1', 'America/New_York', new Date('2026-11-20T00:00:00.000Z')),
    ).toEqual(new Date('2026-11-23T13:00:00.000Z'));
    expect(() => nextOccurrence('0 25 * * *', 'UTC', new Date())).toThrow();
  });
});
