import {
  LineProtocolReader,
  parseLineProtocol,
  type Precision,
  type ReadOptions,
} from './line-protocol.parser.js';

const NOW = 1_700_000_000_000_000; // µs

describe('parseLineProtocol', () => {
  it('parses measurement, tags, fields and a ns timestamp', () => {
    const r = parseLineProtocol('cpu,host=a,region=eu usage=12.5,idle=80 1700000000123456789');
    expect(r.errors).toEqual([]);
    expect(r.points).toEqual([
      {
        measurement: 'cpu',
        tags: [
          ['host', 'a'],
          ['region', 'eu'],
        ],
        fields: [
          ['usage', 12.5],
          ['idle', 80],
        ],
        tsUs: 1700000000123456,
        line: 1,
      },
    ]);
  });

  it('unescapes spaces, commas and equals signs', () => {
    const r = parseLineProtocol('my\\ meas\\,x,tag\\ key=va\\,l\\=ue\\ z field\\=k\\ 1=1 1', 's');
    expect(r.errors).toEqual([]);
    expect(r.points[0].measurement).toBe('my meas,x');
    expect(r.points[0].tags).toEqual([['tag key', 'va,l=ue z']]);
    expect(r.points[0].fields).toEqual([['field=k 1', 1]]);
  });

  it('reads integer suffixes, floats with exponents and every boolean spelling', () => {
    const r = parseLineProtocol(
      'm a=5i,b=7u,c=-3i,d=1.5e3,e=t,f=T,g=true,h=True,i=TRUE,j=f,k=F,l=false,m=False,n=FALSE,o=-.5 0',
    );
    expect(r.errors).toEqual([]);
    expect(Object.fromEntries(r.points[0].fields)).toEqual({
      a: 5,
      b: 7,
      c: -3,
      d: 1500,
      e: 1,
      f: 1,
      g: 1,
      h: 1,
      i: 1,
      j: 0,
      k: 0,
      l: 0,
      m: 0,
      n: 0,
      o: -0.5,
    });
  });

  it('uses now when the timestamp is missing', () => {
    const r = parseLineProtocol('m v=1\nm v=2   \n', 'ns', NOW);
    expect(r.points.map((p) => p.tsUs)).toEqual([NOW, NOW]);
  });

  it.each([
    ['ns', '1700000000123456789', 1700000000123456],
    ['us', '1700000000123456', 1700000000123456],
    ['ms', '1700000000123', 1700000000123000],
    ['s', '1700000000', 1700000000000000],
  ] as const)('precision %s', (precision, ts, expected) => {
    const r = parseLineProtocol(`m v=1 ${ts}`, precision);
    expect(r.errors).toEqual([]);
    expect(r.points[0].tsUs).toBe(expected);
  });

  it('skips blank lines, comments and CRLF line ends', () => {
    const r = parseLineProtocol('# hello\r\n\r\nm v=1 1\r\n  \nm v=2 2\r\n', 's');
    expect(r.errors).toEqual([]);
    expect(r.points.map((p) => [p.line, p.fields[0][1]])).toEqual([
      [3, 1],
      [5, 2],
    ]);
  });

  it('refuses strings with a clear message', () => {
    const r = parseLineProtocol('m ok=1,msg="hello world" 1');
    expect(r.points).toEqual([]);
    expect(r.errors[0]).toEqual({
      line: 1,
      message: 'field "msg" is a string; metric values must be numbers or booleans',
    });
  });

  it.each([
    ['m', 'missing fields'],
    ['m,t=1', 'missing fields'],
    ['m v=', 'has no value'],
    ['m v=abc', 'is not a number'],
    ['m v=1 12abc', 'bad timestamp'],
    ['m,t v=1', 'bad tag'],
    ['m,t= v=1', 'empty value'],
    ['m v=1x', 'is not a number'],
    ['m v=0x10', 'is not a number'],
    ['m v=-', 'is not a number'],
    ['m v=-1u', 'negative'],
    ['m v=1.5i', 'bad integer'],
    ['m v=NaN', 'not a number'],
    ['m v=1e999', 'not a finite number'],
    [',t=1 v=1', 'missing measurement'],
  ])('reports %s', (line, message) => {
    const r = parseLineProtocol(line);
    expect(r.points).toEqual([]);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0].message).toContain(message);
  });

  it('numbers every bad line and keeps the good ones apart', () => {
    const r = parseLineProtocol('m v=1 1\nm v="x" 2\nm v=3 3\nbad', 's');
    expect(r.points).toHaveLength(2);
    expect(r.errors.map((e) => e.line)).toEqual([2, 4]);
  });
});

describe('LineProtocolReader (column-wise fast path)', () => {
  type Meta = { tags: string };
  const newReader = () =>
    new LineProtocolReader<Meta>({
      describe: (_m, tags) => ({ meta: { tags: JSON.stringify(tags) }, errors: [] }),
      checkField: (f) => (f.startsWith('bad') ? `field "${f}" refused` : null),
    });
  const opts = (precision: Precision = 'ns'): ReadOptions => ({
    precision,
    nowUs: NOW,
    minUs: -Infinity,
    maxUs: Infinity,
    futureMessage: 'future',
    oldMessage: 'old',
    maxErrors: 100,
  });

  /** The reader's rows as reference-parser points (fields in column order, absent skipped). */
  function rows(r: ReturnType<ReturnType<typeof newReader>['read']>) {
    const c = r.columns;
    const out: Array<{
      measurement: string;
      tags: string;
      fields: Record<string, number>;
      tsUs: number;
    }> = [];
    for (let i = 0; i < c.rows; i++) {
      const s = r.series[c.rowSeries[i]];
      const fields: Record<string, number> = {};
      for (let j = c.rowOffset[i]; j < c.rowOffset[i + 1]; j++) {
        const v = c.vals[j];
        if (v === v) fields[s.fields[j - c.rowOffset[i]]] = v;
      }
      out.push({ measurement: s.measurement, tags: s.meta.tags, fields, tsUs: c.rowTs[i] });
    }
    return out;
  }

  function reference(body: string, precision: Precision = 'ns') {
    const r = parseLineProtocol(body, precision, NOW);
    return {
      errors: r.errors.map((e) => e.line),
      rows: r.points.map((p) => ({
        measurement: p.measurement,
        tags: JSON.stringify(p.tags),
        fields: Object.fromEntries(p.fields),
        tsUs: p.tsUs,
      })),
    };
  }

  function same(body: string, precision: Precision = 'ns', reader = newReader()) {
    const got = reader.read(body, opts(precision));
    const want = reference(body, precision);
    expect(got.errors.map((e) => e.line)).toEqual(want.errors);
    if (!want.errors.length) expect(rows(got)).toEqual(want.rows);
    return got;
  }

  it('agrees with the reference parser on typical, escaped and unusual lines', () => {
    const reader = newReader();
    const body = [
      'cpu,host=a,region=eu usage=12.5,idle=80 1700000000123456789',
      'cpu,host=a,region=eu idle=81,usage=13 1700000000223456789',
      'cpu,host=a,region=eu usage=-0.25,idle=1e3,new=7i 1700000000323456789',
      'my\\ meas\\,x,tag\\ key=va\\,l\\=ue\\ z field\\=k\\ 1=1 1',
      'm a=5i,b=7u,c=-3i,d=1.5e3,e=t,f=T,g=true,h=False,o=-.5,p=+4,q=1.,r=007,s=1E-5 0',
      'm big=123456789012345678,tiny=0.000000000000000000000001,e=1e-30,x=1e22,y=9.999999999999999e22',
      'm v=1 1',
      'm  v=2   2',
      'm v=3',
      'm v=0.1,w=0.7,z=3.14159265358979 5',
    ].join('\n');
    same(body, 'ns', reader);
    // second pass: every key and field layout comes from the cache
    same(body, 'ns', reader);
  });

  it('agrees on random numbers in every notation', () => {
    const reader = newReader();
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const x = (rnd() - 0.5) * 10 ** Math.floor(rnd() * 30 - 15);
      const forms = [
        String(x),
        x.toFixed(Math.floor(rnd() * 8)),
        x.toExponential(Math.floor(rnd() * 16)),
        x.toPrecision(1 + Math.floor(rnd() * 17)),
        `${Math.floor(rnd() * 1e9)}i`,
        `${Math.round(x)}`,
      ];
      lines.push(
        `m,host=h${i % 7} a=${forms[i % forms.length]},b=${forms[(i + 3) % forms.length]} ${i}`,
      );
    }
    same(lines.join('\n'), 's', reader);
  });

  it('agrees on every precision and on missing or odd timestamps', () => {
    for (const p of ['ns', 'us', 'ms', 's'] as const) {
      same('m v=1 1700000000123456789\nm v=1 17\nm v=1 0\nm v=1\nm v=1 007', p);
    }
  });

  it('reports the same lines as the reference parser, and field-name and timestamp problems', () => {
    const bad = [
      'm v=1 1',
      'm v="x" 2',
      'm',
      'm,t=1',
      'm v=',
      'm v=abc',
      'm v=1 12abc',
      'm,t v=1',
      'm,t= v=1',
      'm v=1x',
      'm v=0x10',
      'm v=-',
      'm v=-1u',
      'm v=1.5i',
      'm v=NaN',
      'm v=1e999',
      ',t=1 v=1',
      'm v=1,',
      'm v=1 -5',
      'm v=3 3',
    ].join('\n');
    same(bad, 's');
    const r = newReader().read('m ok=1,bad_x=2 1\nm ok=1 1\nm ok=1 99', {
      ...opts('s'),
      maxUs: 50_000_000,
    });
    expect(r.errors).toEqual([
      { line: 1, message: 'field "bad_x" refused' },
      { line: 3, message: 'future' },
    ]);
    expect(r.badLines).toBe(2);
    expect(r.badTimestamps).toBe(1);
    expect(r.columns.rows).toBe(1);
  });

  it('keeps one column per field name however it is escaped, and widens rows for new fields', () => {
    const reader = newReader();
    const r = reader.read('m a=1 1\nm b=2,a=3 2\nm c=4 3', opts('s'));
    expect(r.series).toHaveLength(1);
    expect(r.series[0].fields).toEqual(['a', 'b', 'c']);
    expect(rows(r).map((x) => x.fields)).toEqual([{ a: 1 }, { b: 2, a: 3 }, { c: 4 }]);
  });
});
