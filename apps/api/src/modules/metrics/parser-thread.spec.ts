import { LINE_KEY_HOOKS } from './line-keys.js';
import { ParserThread } from './parser-thread.js';
import { LineProtocolReader, type ReadOptions } from './line-protocol.parser.js';
import type { SampleColumns } from './sample-columns.js';

const NOW = 1_700_000_000_000_000; // µs
const opts: ReadOptions = {
  precision: 'ms',
  nowUs: NOW,
  minUs: -Infinity,
  maxUs: Infinity,
  futureMessage: 'future',
  oldMessage: 'old',
  maxErrors: 100,
};

/** What a read means: rows with their series' key and named cells, errors, line count. */
function view(r: {
  series: Array<{ measurement: string; meta: unknown; fields: readonly string[] }>;
  columns: SampleColumns;
  errors: unknown[];
  lines: number;
}) {
  const c = r.columns;
  const rows = [];
  for (let i = 0; i < c.rows; i++) {
    const s = r.series[c.rowSeries[i]];
    const cells: Record<string, number> = {};
    for (let j = c.rowOffset[i]; j < c.rowOffset[i + 1]; j++) {
      if (c.vals[j] === c.vals[j]) cells[s.fields[j - c.rowOffset[i]]] = c.vals[j];
    }
    rows.push([s.measurement, s.meta, cells, c.rowTs[i]]);
  }
  return { rows, errors: r.errors, lines: r.lines };
}

describe('ParserThread', () => {
  it('gives what an in-thread reader gives, for concurrent requests', async () => {
    // Keys are described once and then sent by id: interleaved requests, a key that gains a
    // field later, and bad lines must all come out as the in-thread reader has them.
    const body = (n: number, shift: number) =>
      Array.from(
        { length: n },
        (_, i) =>
          `cpu,host=h${(i + shift) % 7},region=v\\,x\\ y usage=${i}.5,idle=${i}i ${1_700_000_000_000 + i}`,
      ).join('\n');
    const grown = 'cpu,host=h1,region=v\\,x\\ y usage=1,idle=2i,extra=3 1700000000000';
    const bodies = [body(2500, 0), body(1800, 3), body(3100, 5), grown, 'cpu,host=a usage="x" 1'];
    const thread = new ParserThread();
    try {
      const got = await Promise.all(bodies.map((b) => thread.read(Buffer.from(b), opts)));
      const local = new LineProtocolReader(LINE_KEY_HOOKS);
      expect(got.map(view)).toEqual(bodies.map((b) => view(local.read(b, opts))));
      expect(got.map((g) => g.series.length)).toEqual([7, 7, 7, 1, 0]);
      expect(got[3].series[0].fields).toEqual(['usage', 'idle', 'extra']);
      expect(got[4].badLines).toBe(1);
      // A second round is answered from the definitions already sent.
      const again = await thread.read(Buffer.from(bodies[1]), opts);
      expect(view(again)).toEqual(view(got[1]));
    } finally {
      await thread.close();
    }
  });

  it('reads JSON batches into columns, and says why a body is refused', async () => {
    const thread = new ParserThread();
    const agent = '0b7c7f62-5b8e-4c52-9a51-3f1d6d4a0c11';
    const now = 1_700_000_000_000;
    const day = 86_400_000;
    try {
      const ok = await thread.readJson(
        Buffer.from(
          JSON.stringify({
            samples: [
              { agentId: agent, timestamp: now - 1000, metrics: { cpu_usage: 5, up: true } },
              { agentId: agent, timestamp: now, metrics: { 'ai.tokens{model=a}': 7 } },
            ],
          }),
        ),
        now,
        30 * day,
      );
      if (ok.kind !== 'ok') throw new Error(ok.kind);
      expect(ok.series.map((s) => [s.measurement, s.labels, [...s.fields]])).toEqual([
        ['agent_metrics', '', ['cpu_usage', 'up']],
        ['ai', 'model=a', ['tokens']],
      ]);
      expect([ok.total, ok.badSamples, ok.agents, [...ok.agentSamples]]).toEqual([
        2,
        0,
        [agent],
        [2],
      ]);
      expect(Array.from(ok.columns.vals.subarray(0, ok.columns.used))).toEqual([5, 1, 7]);
      // The same series in a later batch is the same object (the store's memo stays with it);
      // one with another field list is another series.
      const json = (metrics: Record<string, number>) =>
        Buffer.from(JSON.stringify({ samples: [{ agentId: agent, timestamp: now, metrics }] }));
      const again = await thread.readJson(json({ cpu_usage: 6, up: 0 }), now, 30 * day);
      const other = await thread.readJson(json({ cpu_usage: 6, mem: 2 }), now, 30 * day);
      if (again.kind !== 'ok' || other.kind !== 'ok') throw new Error('not read');
      expect(again.series[0]).toBe(ok.series[0]);
      expect([...other.series[0].fields]).toEqual(['cpu_usage', 'mem']);
      expect(other.series[0]).not.toBe(ok.series[0]);
      const bad = await thread.readJson(
        Buffer.from(JSON.stringify({ samples: [{ agentId: agent, metrics: { s: 'x' } }] })),
        now,
        30 * day,
      );
      expect(bad.kind === 'ok' && [bad.badSamples, bad.errors[0].index]).toEqual([1, 0]);
      expect((await thread.readJson(Buffer.from('{"samples":'), now, day)).kind).toBe(
        'invalid-json',
      );
      const invalid = await thread.readJson(Buffer.from('{"samples": []}'), now, day);
      expect(invalid.kind === 'invalid' && invalid.issues[0].field).toBe('samples');
    } finally {
      await thread.close();
    }
  });

  it('refuses reads once closed', async () => {
    const thread = new ParserThread();
    await thread.close();
    await expect(thread.read(Buffer.from('m v=1 1'), opts)).rejects.toThrow(/closed/);
  });
});
