import { MemoryEventLog } from './event-log.js';

describe('MemoryEventLog', () => {
  const ev = (n: number) => ({ event: 'config_pushed' as const, payload: { n } });

  it('numbers events and replays those after lastSeq, in order', async () => {
    const log = new MemoryEventLog(10);
    for (let i = 0; i < 5; i++) await log.append(ev(i));
    const r = await log.since(2);
    expect(r.currentSeq).toBe(5);
    expect(r.events?.map((e) => e.seq)).toEqual([3, 4, 5]);
    expect((await log.since(5)).events).toEqual([]);
  });

  it('answers null (resync) once the buffer no longer reaches back to lastSeq', async () => {
    const log = new MemoryEventLog(3);
    for (let i = 0; i < 6; i++) await log.append(ev(i));
    expect((await log.since(3)).events?.map((e) => e.seq)).toEqual([4, 5, 6]);
    expect((await log.since(2)).events).toBeNull();
    expect((await log.since(0)).events).toBeNull();
  });
});
