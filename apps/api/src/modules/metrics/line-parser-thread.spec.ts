import { LINE_KEY_HOOKS } from './line-keys.js';
import { LineParserThread } from './line-parser-thread.js';
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

describe('LineParserThread', () => {
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
    const thread = new LineParserThread();
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

  it('refuses reads once closed', async () => {
    const thread = new LineParserThread();
    await thread.close();
    await expect(thread.read(Buffer.from('m v=1 1'), opts)).rejects.toThrow(/closed/);
  });
});
