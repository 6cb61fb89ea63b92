import { MemoryEventLog, type ReplayResult } from './event-log.js';

const seqs = (r: ReplayResult) => ('events' in r ? r.events.map((e) => e.seq) : r.resync);

describe('MemoryEventLog', () => {
  const ev = (n: number) => ({ event: 'config_pushed' as const, payload: { n } });

  it('numbers events in its epoch and replays those after lastSeq, in order', () => {
    const log = new MemoryEventLog(10);
    for (let i = 0; i < 5; i++) expect(log.append(ev(i)).epoch).toBe(log.epoch);
    const r = log.since(log.epoch, 2);
    expect(r.currentSeq).toBe(5);
    expect(seqs(r)).toEqual([3, 4, 5]);
    expect(seqs(log.since(log.epoch, 5))).toEqual([]);
  });

  it('answers resync once the buffer no longer reaches back to lastSeq', () => {
    const log = new MemoryEventLog(3);
    for (let i = 0; i < 6; i++) log.append(ev(i));
    expect(seqs(log.since(log.epoch, 3))).toEqual([4, 5, 6]);
    expect(seqs(log.since(log.epoch, 2))).toBe('gap_too_large');
    expect(seqs(log.since(log.epoch, 0))).toBe('gap_too_large');
    expect(seqs(log.since(log.epoch, 7))).toBe('unknown_sequence');
  });

  it('never replays across epochs: another log numbers from 1 in a new epoch', () => {
    const before = new MemoryEventLog();
    for (let i = 0; i < 3; i++) before.append(ev(i));
    const after = new MemoryEventLog();
    for (let i = 0; i < 5; i++) after.append(ev(i));
    expect(after.epoch).not.toBe(before.epoch);
    // Same numbers, different events: a position from the old epoch must not resume here.
    const r = after.since(before.epoch, 2);
    expect(seqs(r)).toBe('epoch_changed');
    expect(r).toMatchObject({ epoch: after.epoch, currentSeq: 5 });
  });
});
