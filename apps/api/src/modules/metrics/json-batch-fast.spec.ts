import { MetricsBatchSchema } from '@agent-monitor/contracts';
import { readPlainBatch } from './json-batch-fast.js';
import { JsonNames, JsonReader } from './json-reader.js';

const NOW = Date.UTC(2026, 10, 20, 12);
const RETENTION = 30 * 86_400_000;
const A = '6ba7b810-9dad-41d1-80b4-00c04fd430c8';
const B = '1b4e28ba-2fa1-41d2-883f-0016d3cca427';

/** What a reader made of a batch, as plain data. */
function outcome(r: JsonReader, perAgent: Map<string, number>) {
  const c = r.columns;
  return {
    rows: c.rows,
    rowSeries: [...c.rowSeries.subarray(0, c.rows)],
    rowTs: [...c.rowTs.subarray(0, c.rows)],
    rowOffset: [...c.rowOffset.subarray(0, c.rows + 1)],
    // NaN-safe, and -0 kept apart from 0
    vals: [...c.vals.subarray(0, c.used)].map((v) => (Object.is(v, -0) ? '-0' : String(v))),
    series: r.seriesList.map((s) => ({ ...s, fields: [...s.fields] })),
    errors: r.errors,
    badSamples: r.badSamples,
    badTimestamps: r.badTimestamps,
    total: r.total,
    perAgent: [...perAgent],
  };
}

/** The schema path: MetricsBatchSchema first, then the reader over its output. */
function viaSchema(value: unknown) {
  const parsed = MetricsBatchSchema.safeParse(value ?? {});
  if (!parsed.success) return 'invalid';
  const r = new JsonReader(new JsonNames(), NOW, parsed.data.samples.length, RETENTION);
  const perAgent = new Map<string, number>();
  parsed.data.samples.forEach((x, i) => {
    perAgent.set(x.agentId, (perAgent.get(x.agentId) ?? 0) + 1);
    r.add(x.agentId, x.timestamp, x.metrics, i);
  });
  return outcome(r, perAgent);
}

function fast(value: unknown) {
  const b = readPlainBatch(value, new JsonNames(), NOW, RETENTION);
  return b && outcome(b.reader, b.perAgent);
}

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const plain = [
  {
    samples: [
      { agentId: A, timestamp: NOW - 5000, metrics: { cpu_usage: 41.5, healthy: true, up: false } },
      { agentId: B, metrics: { 'ai_metrics.tokens{model=gpt4}': 1200, 'ai_metrics.cost': 0.0125 } },
      { metrics: { cpu_usage: -0, memory_usage: 1e3, '10': 2 }, timestamp: NOW - 1, agentId: A },
    ],
  },
  // samples the reader refuses (timestamps out of range, a name it refuses, a string value):
  // the schema accepts them, so both paths must report the same per-sample errors
  {
    samples: [
      { agentId: A, timestamp: NOW + 3_600_000, metrics: { a: 1 } },
      { agentId: A, timestamp: 1, metrics: { a: 1 } },
      { agentId: B, metrics: { 'bad{name': 1, s: 'x', n: null } },
    ],
  },
];

describe('readPlainBatch (JSON batches read before the schema pass)', () => {
  it('reads plain batches exactly as the schema path does', () => {
    for (const value of plain) {
      const f = fast(value);
      expect(f).not.toBeNull();
      expect(f).toEqual(viaSchema(value));
    }
  });

  it('leaves everything else to the schema', () => {
    const one = { agentId: A, metrics: { a: 1 } };
    const declined: unknown[] = [
      null,
      [],
      'x',
      {},
      { samples: [] },
      { samples: [one], extra: 1 },
      { samples: 'x' },
      { samples: [{ ...one, timestamp: '2026-11-20T12:00:00Z' }] },
      { samples: [{ ...one, timestamp: 1.5 }] },
      { samples: [{ ...one, timestamp: -1 }] },
      { samples: [{ ...one, timestamp: 2 ** 53 }] },
      { samples: [{ ...one, timestamp: null }] },
      { samples: [{ ...one, agentId: 'not-a-uuid' }] },
      { samples: [{ ...one, agentId: 7 }] },
      { samples: [{ ...one, metrics: {} }] },
      { samples: [{ ...one, metrics: [1] }] },
      { samples: [{ ...one, metrics: { ['x'.repeat(513)]: 1 } }] },
      { samples: [{ ...one, metrics: { '': 1 } }] },
      {
        samples: [
          { ...one, metrics: Object.fromEntries([...Array(1001).keys()].map((k) => [`m${k}`, 1])) },
        ],
      },
      { samples: [{ ...one, other: 1 }] },
      { samples: Array.from({ length: 10_001 }, () => one) },
    ];
    for (const value of declined) expect(fast(value)).toBeNull();
    // all refused by the schema too, but an ISO timestamp: the schema path reads that one
    const schema = declined.map((v) => (viaSchema(v) === 'invalid' ? 'invalid' : 'read'));
    expect(schema.filter((x) => x === 'read')).toHaveLength(1);
    expect(schema[7]).toBe('read');
  });

  it('never reads what the schema refuses, nor reads anything differently (fuzzed)', () => {
    const rand = rng(42);
    const alphabet = [
      '"',
      '{',
      '}',
      '[',
      ']',
      ',',
      ':',
      '0',
      '1',
      '9',
      '.',
      '-',
      'e',
      ' ',
      'x',
      'true',
      'null',
      '"a"',
      '"timestamp"',
      '"agentId"',
      '"metrics"',
      '"samples"',
      `"${B}"`,
    ];
    let read = 0;
    let refused = 0;
    for (let k = 0; k < 6000; k++) {
      let text = JSON.stringify(plain[k % plain.length]);
      const edits = 1 + Math.floor(rand() * 3);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rand() * text.length);
        const op = rand();
        const piece = alphabet[Math.floor(rand() * alphabet.length)];
        if (op < 0.35) text = text.slice(0, at) + text.slice(at + 1);
        else if (op < 0.7) text = text.slice(0, at) + piece + text.slice(at);
        else text = text.slice(0, at) + piece + text.slice(at + piece.length);
      }
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        continue;
      }
      const f = fast(value);
      const s = viaSchema(value);
      if (s === 'invalid') refused++;
      if (f === null) continue;
      read++;
      expect({ text, out: f }).toEqual({ text, out: s });
    }
    // the mutations give both kinds of input: the comparison is not vacuous
    expect(read).toBeGreaterThan(300);
    expect(refused).toBeGreaterThan(300);
  });
});
