import { foldTaskEvents, type FoldableEvent } from './task-fold.js';

const t0 = Date.parse('2026-01-01T00:00:00Z');
const ev = (s: number, over: Partial<FoldableEvent>): FoldableEvent => ({
  agentId: 'a',
  type: 'updated',
  title: null,
  statusAfter: null,
  assignee: null,
  at: new Date(t0 + s * 1000),
  ...over,
});

describe('foldTaskEvents', () => {
  it('derives the status from the event type when none is sent', () => {
    const s = foldTaskEvents('T', null, [
      ev(0, { type: 'created', title: 'x' }),
      ev(1, { type: 'assigned', assignee: 'bob' }),
    ]);
    expect(s).toMatchObject({ status: 'in_progress', title: 'x', assignee: 'bob', eventCount: 2 });
  });

  it('applies events in time order whatever order they arrive in', () => {
    const s = foldTaskEvents('T', null, [
      ev(5, { type: 'completed' }),
      ev(0, { type: 'created', title: 'x' }),
    ]);
    expect(s.status).toBe('done');
    expect(s.completedAt?.getTime()).toBe(t0 + 5000);
    expect(s.createdAt.getTime()).toBe(t0);
  });

  it('lets an older late event fill blanks but not move the status back', () => {
    const done = foldTaskEvents('T', null, [ev(10, { type: 'completed', agentId: 'b' })]);
    const s = foldTaskEvents('T', done, [ev(1, { type: 'created', title: 'late title' })]);
    expect(s).toMatchObject({ status: 'done', title: 'late title', agentId: 'b', eventCount: 2 });
  });

  it('keeps the first completion time and clears it on reopen', () => {
    const a = foldTaskEvents('T', null, [
      ev(1, { type: 'completed' }),
      ev(2, { type: 'completed' }),
    ]);
    expect(a.completedAt?.getTime()).toBe(t0 + 1000);
    const b = foldTaskEvents('T', a, [ev(3, { type: 'updated', statusAfter: 'in_progress' })]);
    expect(b.completedAt).toBeNull();
    expect(b.status).toBe('in_progress');
  });
});
