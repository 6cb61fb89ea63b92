import type { AlertCondition } from '@agent-monitor/contracts';
import type { AgentSignals } from './condition-eval.js';
import {
  aggregate,
  compare,
  evaluateCondition,
  metricSelector,
  resolveSeries,
  selectorMatches,
  windowValues,
} from './condition-eval.js';
import { escapeHtml, renderTemplate } from './template.js';

const NOW = 1_000_000;

function signals(
  series: Record<string, Array<[number, number]>>,
  extra: Partial<AgentSignals> = {},
): AgentSignals {
  return {
    series: new Map(
      Object.entries(series).map(([m, pts]) => [
        m,
        { ts: pts.map((p) => p[0]), v: pts.map((p) => p[1]) },
      ]),
    ),
    lastSeen: new Map(Object.entries(series).map(([m, pts]) => [m, pts[pts.length - 1][0]])),
    lastSeenAny: null,
    status: null,
    watchingSince: 0,
    ...extra,
  };
}

describe('condition evaluation', () => {
  it('compares with every operator', () => {
    expect([
      compare(2, '>', 1),
      compare(1, '>=', 1),
      compare(0, '<', 1),
      compare(1, '<=', 1),
      compare(1, '==', 1),
      compare(2, '!=', 1),
    ]).toEqual([true, true, true, true, true, true]);
    expect([
      compare(1, '>', 1),
      compare(0, '>=', 1),
      compare(1, '<', 1),
      compare(2, '<=', 1),
      compare(2, '==', 1),
      compare(1, '!=', 1),
    ]).toEqual([false, false, false, false, false, false]);
  });

  it('aggregates a window with nearest-rank p95', () => {
    const xs = Array.from({ length: 20 }, (_, i) => i + 1);
    expect(aggregate(xs, 'avg')).toBe(10.5);
    expect(aggregate(xs, 'min')).toBe(1);
    expect(aggregate(xs, 'max')).toBe(20);
    expect(aggregate(xs, 'p95')).toBe(19);
    expect(aggregate(xs, 'last')).toBe(20);
    expect(aggregate([], 'avg')).toBeNull();
  });

  it('takes only samples inside the window', () => {
    const w = { ts: [NOW - 5000, NOW - 2000, NOW - 1000], v: [1, 2, 3] };
    expect(windowValues(w, 3, NOW)).toEqual([2, 3]);
    expect(windowValues(w, 0, NOW)).toEqual([3]);
  });

  it('evaluates nested AND/OR with the value of the deciding leaf', () => {
    const s = signals({ cpu: [[NOW, 95]], mem: [[NOW, 10]], disk: [[NOW, 99]] });
    const r = evaluateCondition(
      {
        kind: 'and',
        conditions: [
          { kind: 'threshold', metric: 'cpu', op: '>', value: 90, aggregate: 'last', windowSec: 0 },
          {
            kind: 'or',
            conditions: [
              {
                kind: 'threshold',
                metric: 'mem',
                op: '>',
                value: 90,
                aggregate: 'last',
                windowSec: 0,
              },
              {
                kind: 'threshold',
                metric: 'disk',
                op: '>',
                value: 95,
                aggregate: 'last',
                windowSec: 0,
              },
            ],
          },
        ],
      },
      s,
      NOW,
    );
    expect(r).toMatchObject({ active: true, value: 95, threshold: 90 });
  });

  it('no-data counts from the last sample, or from when watching began', () => {
    expect(
      evaluateCondition(
        { kind: 'no_data', metric: 'cpu', forSec: 5 },
        signals({ cpu: [[NOW - 6000, 1]] }),
        NOW,
      ).active,
    ).toBe(true);
    expect(
      evaluateCondition(
        { kind: 'no_data', metric: 'cpu', forSec: 5 },
        signals({ cpu: [[NOW - 4000, 1]] }),
        NOW,
      ).active,
    ).toBe(false);
    expect(
      evaluateCondition(
        { kind: 'no_data', forSec: 5 },
        signals({}, { watchingSince: NOW - 1000 }),
        NOW,
      ).active,
    ).toBe(false);
  });

  it('status conditions need the status held for forSec', () => {
    const s = signals({}, { status: { status: 'offline', since: NOW - 3000 } });
    expect(
      evaluateCondition({ kind: 'agent_status', statuses: ['offline'], forSec: 2 }, s, NOW).active,
    ).toBe(true);
    expect(
      evaluateCondition({ kind: 'agent_status', statuses: ['offline'], forSec: 5 }, s, NOW).active,
    ).toBe(false);
    expect(
      evaluateCondition({ kind: 'agent_status', statuses: ['error'], forSec: 0 }, s, NOW).active,
    ).toBe(false);
  });
});

describe('label sets', () => {
  it('parses selectors and matches label sets (`*` = any value)', () => {
    expect(metricSelector('ai_metrics.inference_time')).toEqual({
      base: 'ai_metrics.inference_time',
      filter: [],
    });
    const sel = metricSelector('ai_metrics.inference_time{model=gpt4}');
    expect(sel).toEqual({ base: 'ai_metrics.inference_time', filter: [['model', 'gpt4']] });
    expect(selectorMatches(sel, 'model=gpt4,region=eu')).toBe(true);
    expect(selectorMatches(sel, 'model=claude')).toBe(false);
    expect(selectorMatches(metricSelector('x{model=*}'), 'model=claude')).toBe(true);
    expect(selectorMatches(metricSelector('x{model=*}'), 'region=eu')).toBe(false);
  });

  it('evaluates each label set on its own series; unlabelled leaves read the plain series', () => {
    const s = signals({
      'lat{model=a}': [[NOW, 900]],
      'lat{model=b}': [[NOW, 100]],
      cpu: [[NOW, 95]],
    });
    const c = { kind: 'threshold', metric: 'lat', op: '>', value: 500 } as const;
    const t = { aggregate: 'last', windowSec: 0 } as const;
    expect(evaluateCondition({ ...c, ...t }, s, NOW, 'model=a').active).toBe(true);
    expect(evaluateCondition({ ...c, ...t }, s, NOW, 'model=b').active).toBe(false);
    const both: AlertCondition = {
      kind: 'and',
      conditions: [
        { ...c, ...t },
        { kind: 'threshold', metric: 'cpu', op: '>', value: 90, ...t },
      ],
    };
    expect(evaluateCondition(both, s, NOW, 'model=a')).toMatchObject({ active: true, value: 900 });
    // A filtered leaf does not read another label set's series.
    const onlyB = { ...c, ...t, metric: 'lat{model=b}', value: 50 };
    expect(evaluateCondition(onlyB, s, NOW, 'model=a').active).toBe(false);
    expect(evaluateCondition(onlyB, s, NOW, 'model=b').active).toBe(true);
    expect(resolveSeries('lat{model=b}', 'model=a', (n) => s.series.has(n))).toBeNull();
  });

  it('watchdog is always active; group_unreachable never holds per agent', () => {
    const s = signals({});
    expect(evaluateCondition({ kind: 'watchdog' }, s, NOW).active).toBe(true);
    expect(
      evaluateCondition(
        {
          kind: 'group_unreachable',
          fraction: 0.5,
          minMembers: 3,
          statuses: ['offline'],
          includeRegions: true,
          memberHoldSec: 10,
        },
        s,
        NOW,
      ).active,
    ).toBe(false);
  });
});

describe('summary template', () => {
  it('fills known placeholders and leaves everything else literally', () => {
    const vars = { 'agent.name': 'web-1', value: 97.123456789, threshold: 90 };
    expect(renderTemplate('{{agent.name}} {{ value }} > {{threshold}}', vars)).toBe(
      'web-1 97.1235 > 90',
    );
    const evil =
      '{{> /etc/passwd}} {{#include "/etc/passwd"}} {{constructor.constructor("return process")()}} {{unknown.thing}}';
    expect(renderTemplate(evil, vars)).toBe(evil);
  });

  it('escapes HTML', () => {
    expect(escapeHtml('<script>"x"&\'y\'</script>')).toBe(
      '&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;',
    );
  });
});
