import { parseLineProtocol } from './line-protocol.parser.js';

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
