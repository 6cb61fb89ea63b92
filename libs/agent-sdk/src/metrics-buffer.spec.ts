import { toLineProtocol, toLineProtocolBody } from './line-protocol.js';
import { MetricsBuffer } from './metrics-buffer.js';
import type { FetchLike } from './errors.js';

describe('toLineProtocol', () => {
  it('escapes, sorts tags, writes booleans and ms timestamps', () => {
    expect(
      toLineProtocol({
        measurement: 'ai metrics,x',
        tags: { model: 'gpt 4', agent_id: 'a=b' },
        fields: { tokens: 12, ok: true },
        timestamp: 1700000000000,
      }),
    ).toBe('ai\\ metrics\\,x,agent_id=a\\=b,model=gpt\\ 4 tokens=12,ok=true 1700000000000');
    expect(toLineProtocolBody([{ measurement: 'm', fields: { v: 1 } }])).toBe('m v=1\n');
    expect(() => toLineProtocol({ measurement: 'm', fields: { v: NaN } })).toThrow(RangeError);
  });
});

function fakeServer(statuses: number[]) {
  const bodies: string[] = [];
  const fetchFn: FetchLike = async (_url, init) => {
    bodies.push(String(init?.body));
    const status = statuses.length ? statuses.shift()! : 204;
    return new Response(status === 204 ? null : 'x', { status });
  };
  return { bodies, fetchFn };
}

describe('MetricsBuffer', () => {
  const base = {
    baseUrl: 'http://x',
    apiKey: 'am_k',
    agentId: 'A',
    retryBaseMs: 1,
    flushIntervalMs: 60_000,
  };

  it('flushes by size with the agent_id tag', async () => {
    const s = fakeServer([]);
    const b = new MetricsBuffer({ ...base, maxBatch: 2, fetch: s.fetchFn });
    b.record({ cpu_usage: 1 }, { timestamp: 1 });
    expect(s.bodies).toHaveLength(0);
    b.record({ cpu_usage: 2 }, { timestamp: 2 });
    await b.flush();
    expect(s.bodies).toEqual([
      'agent_metrics,agent_id=A cpu_usage=1 1\nagent_metrics,agent_id=A cpu_usage=2 2\n',
    ]);
    expect(b.stats()).toMatchObject({ sent: 2, dropped: 0, buffered: 0 });
    await b.close();
  });

  it('retries 5xx and network errors with backoff, then succeeds', async () => {
    const s = fakeServer([503, 500]);
    const b = new MetricsBuffer({ ...base, fetch: s.fetchFn });
    b.record({ v: 1 });
    await b.close();
    expect(s.bodies).toHaveLength(3);
    expect(b.stats()).toMatchObject({ sent: 1, failedFlushes: 2, dropped: 0 });
  });

  it('drops a refused batch at once and counts points dropped for overflow and exhausted retries', async () => {
    const drops: string[] = [];
    const s = fakeServer([400, 503, 503, 503]);
    const b = new MetricsBuffer({
      ...base,
      maxBuffered: 3,
      maxRetries: 2,
      fetch: s.fetchFn,
      onDrop: (n, why) => drops.push(`${n}:${why}`),
    });
    b.record({ v: 1 });
    await b.flush(); // 400 → rejected
    for (let i = 0; i < 5; i++) b.record({ v: i }); // 2 over the bound
    await b.flush(); // 503 ×3 → exhausted
    expect(drops).toEqual(['1:rejected', '1:overflow', '1:overflow', '3:retries_exhausted']);
    expect(b.stats()).toMatchObject({
      dropped: 6,
      droppedRejected: 1,
      droppedOverflow: 2,
      droppedRetries: 3,
    });
    await b.close();
  });
});
