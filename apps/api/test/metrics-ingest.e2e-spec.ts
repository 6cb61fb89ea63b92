import { gzipSync } from 'node:zlib';
import { jest } from '@jest/globals';
import { io, type Socket } from 'socket.io-client';
import {
  DASHBOARD_NAMESPACE,
  type ClientToServerEvents,
  type NewMetricsDataEvent,
  type ServerToClientEvents,
} from '@agent-monitor/contracts';
import { InfluxDB } from '@influxdata/influxdb-client';
import type { IngestResult, RegisterAgentResponse } from '@agent-monitor/contracts';
import {
  InternalEvent,
  ingestedSamples,
  type InternalEventPayloads,
} from '../src/common/events.js';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { createApiKey, createUser, type TestUser } from './agents-fixtures.js';
import { rawRowCount, rawValues, registerAgents } from './metrics-fixtures.js';
import { client, type Client } from './support/http.js';
import { startTestApp, type TestApp } from './support/test-app.js';

describe('metrics ingest (real PostgreSQL over HTTP)', () => {
  let t: TestApp;
  let http: Client;
  let agents: Map<string, RegisterAgentResponse>;
  let a1: RegisterAgentResponse;
  let a2: RegisterAgentResponse;
  let metricsKey: string;
  let readKey: string;
  let viewer: TestUser;
  let operator: TestUser;
  const bearer = (k: string) => ({ headers: { authorization: `Bearer ${k}` } });
  const events: Array<InternalEventPayloads['metrics.ingested']> = [];

  beforeAll(async () => {
    t = await startTestApp({ env: { METRICS_ROLLUP_INTERVAL: '0ms' } });
    http = client(t.baseUrl);
    agents = await registerAgents(t, http, [{ name: 'ing-1' }, { name: 'ing-2' }]);
    a1 = agents.get('ing-1')!;
    a2 = agents.get('ing-2')!;
    metricsKey = await createApiKey(t, ['metrics:write'], 'mw');
    readKey = await createApiKey(t, ['read'], 'rd');
    viewer = await createUser(t, 'viewer');
    operator = await createUser(t, 'operator');
    t.app
      .get(EventEmitter2)
      .on(InternalEvent.MetricsIngested, (p: InternalEventPayloads['metrics.ingested']) =>
        events.push(p),
      );
  });
  afterAll(async () => {
    await t.close();
    await t.dropDatabase();
  });

  describe('POST /agents/:id/metrics', () => {
    it('stores exactly what was sent (booleans as 0/1, labelled names) and acknowledges after commit', async () => {
      const ts = Date.now() - 5000;
      events.length = 0;
      const r = await http.post<IngestResult>(
        `/api/v2/agents/${a1.id}/metrics`,
        {
          timestamp: new Date(ts).toISOString(),
          metrics: {
            cpu_usage: 41.5,
            memory_usage: 70,
            healthy: true,
            'ai_metrics.tokens{model=gpt4}': 1200,
          },
        },
        bearer(a1.agentKey),
      );
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ accepted: 1, values: 4 });
      const stored = await rawValues(t, a1.id);
      expect(stored.map((s) => [s.name, s.ts.getTime(), s.v])).toEqual(
        expect.arrayContaining([
          ['cpu_usage', ts, 41.5],
          ['memory_usage', ts, 70],
          ['healthy', ts, 1],
          ['ai_metrics.tokens{model=gpt4}', ts, 1200],
        ]),
      );
      expect(stored).toHaveLength(4);
      expect(events).toHaveLength(1);
      expect(events[0].values).toBe(4);
      expect(ingestedSamples(events[0])).toEqual([
        {
          agentId: a1.id,
          ts,
          values: {
            cpu_usage: 41.5,
            memory_usage: 70,
            healthy: 1,
            'ai_metrics.tokens{model=gpt4}': 1200,
          },
        },
      ]);
    });

    it('shows the latest values on the agent detail (hot cache)', async () => {
      const r = await http.get<{ latestMetrics: Record<string, number> }>(
        `/api/v2/agents/${a1.id}`,
        {
          token: operator.token,
        },
      );
      expect(r.status).toBe(200);
      expect(r.body.latestMetrics).toMatchObject({
        cpu_usage: 41.5,
        'ai_metrics.tokens{model=gpt4}': 1200,
      });
    });

    it('refuses strings, non-numbers and bad names with the field named, writing nothing', async () => {
      const before = await rawRowCount(t);
      for (const metrics of [
        { cpu_usage: 'high' },
        { cpu_usage: null },
        { cpu_usage: { nested: 1 } },
        { 'bad name!': 1 },
      ]) {
        const r = await http.post<{ message: string }>(
          `/api/v2/agents/${a1.id}/metrics`,
          { metrics: { memory_usage: 1, ...metrics } },
          bearer(a1.agentKey),
        );
        expect(r.status).toBe(400);
        expect(r.body.message).toMatch(/Batch rejected/);
      }
      const s = await http.post<{ message: string }>(
        `/api/v2/agents/${a1.id}/metrics`,
        { metrics: { cpu_usage: 'high' } },
        bearer(a1.agentKey),
      );
      expect(s.body.message).toContain('"cpu_usage" is a string');
      for (const body of [
        {},
        { metrics: {} },
        { metrics: [] },
        { metrics: { a: 1 }, extra: 1 },
        'nope',
      ]) {
        expect(
          (await http.post(`/api/v2/agents/${a1.id}/metrics`, body, bearer(a1.agentKey))).status,
        ).toBe(400);
      }
      expect(await rawRowCount(t)).toBe(before);
    });

    it('refuses timestamps more than 10 minutes ahead or older than raw retention', async () => {
      const before = await rawRowCount(t);
      const future = await http.post<{ details: Array<{ index: number; message: string }> }>(
        `/api/v2/agents/${a1.id}/metrics`,
        { timestamp: Date.now() + 11 * 60_000, metrics: { cpu_usage: 1 } },
        bearer(a1.agentKey),
      );
      expect(future.status).toBe(400);
      expect(future.body.details[0]).toEqual({
        index: 0,
        message: expect.stringContaining('future'),
      });
      const old = await http.post(
        `/api/v2/agents/${a1.id}/metrics`,
        { timestamp: Date.now() - 31 * 86_400_000, metrics: { cpu_usage: 1 } },
        bearer(a1.agentKey),
      );
      expect(old.status).toBe(400);
      expect(await rawRowCount(t)).toBe(before);
    });

    it('checks who may write: own agent key yes, another agent no, viewer no, anonymous 401', async () => {
      const body = { metrics: { cpu_usage: 5 } };
      expect(
        (await http.post(`/api/v2/agents/${a2.id}/metrics`, body, bearer(a1.agentKey))).status,
      ).toBe(403);
      expect(
        (await http.post(`/api/v2/agents/${a1.id}/metrics`, body, { token: viewer.token })).status,
      ).toBe(403);
      expect(
        (await http.post(`/api/v2/agents/${a1.id}/metrics`, body, bearer(readKey))).status,
      ).toBe(403);
      expect((await http.post(`/api/v2/agents/${a1.id}/metrics`, body)).status).toBe(401);
      expect(
        (await http.post(`/api/v2/agents/${a2.id}/metrics`, body, bearer(metricsKey))).status,
      ).toBe(200);
      expect(
        (await http.post(`/api/v2/agents/${a2.id}/metrics`, body, { token: operator.token }))
          .status,
      ).toBe(200);
      expect(
        (
          await http.post(
            `/api/v2/agents/00000000-0000-4000-8000-000000000000/metrics`,
            body,
            bearer(metricsKey),
          )
        ).status,
      ).toBe(404);
    });
  });

  describe('POST /metrics/batch', () => {
    it('stores every sample of a batch; a duplicate (series, ts) keeps one value, the last written', async () => {
      const ts = Date.now() - 60_000;
      const samples = [
        { agentId: a2.id, timestamp: ts, metrics: { disk_usage: 10, network_in: 5 } },
        { agentId: a2.id, timestamp: ts + 1000, metrics: { disk_usage: 11 } },
        { agentId: a1.id, timestamp: ts, metrics: { disk_usage: 20 } },
        { agentId: a2.id, timestamp: ts, metrics: { disk_usage: 12 } }, // same ts in the batch: wins
      ];
      const r = await http.post<IngestResult>(
        '/api/v2/metrics/batch',
        { samples },
        bearer(metricsKey),
      );
      expect(r.status).toBe(200);
      expect(r.body.accepted).toBe(4);
      const disk = (await rawValues(t, a2.id)).filter(
        (v) => v.name === 'disk_usage' || v.name === 'network_in',
      );
      expect(disk.map((d) => [d.name, d.ts.getTime(), d.v])).toEqual([
        ['disk_usage', ts, 12],
        ['network_in', ts, 5],
        ['disk_usage', ts + 1000, 11],
      ]);
      // Retry of the same batch, then a corrected value: still one value per (series, ts).
      expect(
        (await http.post('/api/v2/metrics/batch', { samples }, bearer(metricsKey))).status,
      ).toBe(200);
      const fix = { samples: [{ agentId: a2.id, timestamp: ts, metrics: { disk_usage: 13 } }] };
      expect((await http.post('/api/v2/metrics/batch', fix, bearer(metricsKey))).status).toBe(200);
      const after = (await rawValues(t, a2.id)).filter(
        (v) => v.name === 'disk_usage' || v.name === 'network_in',
      );
      expect(after.map((d) => [d.name, d.ts.getTime(), d.v])).toEqual([
        ['disk_usage', ts, 13],
        ['network_in', ts, 5],
        ['disk_usage', ts + 1000, 11],
      ]);
    });

    it('rejects the whole batch when one sample is bad, naming each bad sample by index', async () => {
      const before = await rawRowCount(t);
      const now = Date.now();
      const r = await http.post<{ details: Array<{ index: number; message: string }> }>(
        '/api/v2/metrics/batch',
        {
          samples: [
            { agentId: a1.id, timestamp: now, metrics: { cpu_usage: 1 } },
            { agentId: a1.id, timestamp: now + 3_600_000, metrics: { cpu_usage: 2 } },
            { agentId: a1.id, timestamp: now, metrics: { cpu_usage: 'x' } },
          ],
        },
        bearer(metricsKey),
      );
      expect(r.status).toBe(400);
      expect(r.body.details.map((d) => d.index)).toEqual([1, 2]);
      expect(await rawRowCount(t)).toBe(before);
    });

    it('refuses unknown agents (naming them), other agents for agent keys, oversized and malformed batches', async () => {
      const before = await rawRowCount(t);
      const ghost = '11111111-1111-4111-8111-111111111111';
      const unknown = await http.post<{ message: string }>(
        '/api/v2/metrics/batch',
        { samples: [{ agentId: ghost, metrics: { cpu_usage: 1 } }] },
        bearer(metricsKey),
      );
      expect(unknown.status).toBe(400);
      expect(unknown.body.message).toContain(ghost);
      const other = await http.post(
        '/api/v2/metrics/batch',
        { samples: [{ agentId: a2.id, metrics: { cpu_usage: 1 } }] },
        bearer(a1.agentKey),
      );
      expect(other.status).toBe(403);
      const tooMany = Array.from({ length: 10_001 }, () => ({ agentId: a1.id, metrics: { c: 1 } }));
      expect(
        (await http.post('/api/v2/metrics/batch', { samples: tooMany }, bearer(metricsKey))).status,
      ).toBe(400);
      const huge = await http.request('POST', '/api/v2/metrics/batch', {
        raw: JSON.stringify({
          samples: [{ agentId: a1.id, metrics: { c: 1 } }],
          pad: 'x'.repeat(11 * 1024 * 1024),
        }),
        headers: { 'content-type': 'application/json', authorization: `Bearer ${metricsKey}` },
      });
      expect(huge.status).toBe(413);
      expect(
        (
          await http.request('POST', '/api/v2/metrics/batch', {
            raw: '{"samples": [',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${metricsKey}` },
          })
        ).status,
      ).toBe(400);
      // Parsed and validated off the event loop, with the same answers as everywhere else.
      const rawBatch = (raw: string) =>
        http.request<{ message: string }>('POST', '/api/v2/metrics/batch', {
          raw,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${metricsKey}` },
        });
      for (const raw of [
        '{"samples": [',
        '{"__proto__": {"x": 1}, "samples": []}',
        // the same key spelled with escapes, and a constructor.prototype
        '{"\\u005f\\u005f\\u0070roto\\u005f\\u005f": {"x": 1}, "samples": []}',
        `{"samples": [{"agentId": "${a1.id}", "metrics": {"constructor": {"prototype": {"x": 1}}}}]}`,
        // a byte-order mark is stripped, as Fastify does: then it is the plain prototype key
        '\ufeff{"__proto__": {"x": 1}, "samples": []}',
      ]) {
        const r = await rawBatch(raw);
        expect([r.status, r.body.message]).toEqual([400, 'Request body is not valid JSON']);
      }
      expect((await rawBatch('')).status).toBe(400);
      const wrongType = await rawBatch(
        JSON.stringify({ samples: [{ agentId: 'nope', metrics: { c: 1 } }] }),
      );
      expect(wrongType.status).toBe(400);
      expect(wrongType.body.message).toContain('samples.0.agentId');
      const extra = await rawBatch(
        JSON.stringify({ samples: [{ agentId: a1.id, metrics: { c: 1 } }], extra: 1 }),
      );
      expect([extra.status, extra.body.message]).toEqual([400, 'unknown field(s): extra']);
      expect(
        (await http.post('/api/v2/metrics/batch', { samples: [] }, bearer(metricsKey))).status,
      ).toBe(400);
      expect(
        (
          await http.post(
            '/api/v2/metrics/batch',
            { samples: [{ metrics: { c: 1 } }] },
            bearer(readKey),
          )
        ).status,
      ).toBe(403);
      expect(await rawRowCount(t)).toBe(before);
    });
  });

  describe('POST /write (line protocol)', () => {
    const write = (
      body: string | Buffer,
      query = 'precision=ms',
      headers: Record<string, string> = {},
    ) =>
      http.request('POST', `/api/v2/write?bucket=b&${query}`, {
        raw: body,
        headers: {
          'content-type': 'text/plain; charset=utf-8',
          authorization: `Token ${metricsKey}`,
          ...headers,
        },
      });

    it('stores lines by agent_id, agent (name) or host tag, with labels and integer/boolean fields', async () => {
      const ts = Date.now() - 120_000;
      const body = [
        `agent_metrics,agent_id=${a1.id} cpu_usage=12.5,tasks_completed=7i,up=t ${ts}`,
        `ai_metrics,agent=ing-2,model=gpt\\ 4 inference_time=120,tokens=300u ${ts}`,
        `agent_metrics,host=ing-2.local memory_usage=55 ${ts + 1}`,
      ].join('\n');
      const r = await write(body);
      expect(r.status).toBe(204);
      const v1 = (await rawValues(t, a1.id)).filter((v) => v.ts.getTime() === ts);
      expect(v1.map((v) => [v.name, v.v])).toEqual([
        ['cpu_usage', 12.5],
        ['tasks_completed', 7],
        ['up', 1],
      ]);
      const v2 = (await rawValues(t, a2.id)).filter(
        (v) => v.ts.getTime() >= ts && v.ts.getTime() <= ts + 1,
      );
      expect(v2.map((v) => [v.name, v.v])).toEqual([
        ['ai_metrics.inference_time{model=gpt 4}', 120],
        ['ai_metrics.tokens{model=gpt 4}', 300],
        ['memory_usage', 55],
      ]);
    });

    it('reads every precision and fills a missing timestamp with now', async () => {
      const sec = Math.floor(Date.now() / 1000) - 300;
      const cases: Array<[string, string]> = [
        ['s', `${sec}`],
        ['ms', `${sec}001`],
        ['us', `${sec}002000`],
        ['ns', `${sec}003000000`],
      ];
      for (const [p, ts] of cases) {
        expect(
          (await write(`agent_metrics,agent_id=${a1.id} prec_${p}=1 ${ts}`, `precision=${p}`))
            .status,
        ).toBe(204);
      }
      const before = Date.now();
      expect((await write(`agent_metrics,agent_id=${a1.id} nots=1`)).status).toBe(204);
      const vals = await rawValues(t, a1.id);
      const at = (n: string) => vals.find((v) => v.name === n)!.ts.getTime();
      expect(at('prec_s')).toBe(sec * 1000);
      expect(at('prec_ms')).toBe(sec * 1000 + 1);
      expect(at('prec_us')).toBe(sec * 1000 + 2);
      expect(at('prec_ns')).toBe(sec * 1000 + 3);
      expect(Math.abs(at('nots') - before)).toBeLessThan(5000);
    });

    it('a key keeps writing every field after its series gained one through JSON', async () => {
      // The store remembers a line-protocol key's series set; a JSON write adding a field
      // replaces that set, and the next lines must see the new one.
      const ts = Date.now() - 300_000;
      const lp = (line: string) => write(`memo_m,agent_id=${a1.id} ${line}`);
      expect((await lp(`x=1 ${ts}`)).status).toBe(204);
      expect((await lp(`x=2 ${ts + 1000}`)).status).toBe(204);
      const json = await http.post(
        '/api/v2/metrics/batch',
        { samples: [{ agentId: a1.id, timestamp: ts + 2000, metrics: { 'memo_m.y': 5 } }] },
        bearer(metricsKey),
      );
      expect(json.status).toBe(200);
      expect((await lp(`x=3,y=6 ${ts + 3000}`)).status).toBe(204);
      expect((await lp(`x=4 ${ts + 4000}`)).status).toBe(204);
      const got = (await rawValues(t, a1.id))
        .filter((v) => v.name.startsWith('memo_m.'))
        .map((v) => [v.name, v.ts.getTime() - ts, v.v]);
      expect(got.sort()).toEqual(
        [
          ['memo_m.x', 0, 1],
          ['memo_m.x', 1000, 2],
          ['memo_m.x', 3000, 3],
          ['memo_m.x', 4000, 4],
          ['memo_m.y', 2000, 5],
          ['memo_m.y', 3000, 6],
        ].sort(),
      );
    });

    it('accepts gzip bodies', async () => {
      const ts = Date.now() - 200_000;
      const body = gzipSync(`agent_metrics,agent_id=${a1.id} gz=42 ${ts}`);
      expect((await write(body, 'precision=ms', { 'content-encoding': 'gzip' })).status).toBe(204);
      expect((await rawValues(t, a1.id)).find((v) => v.name === 'gz')?.v).toBe(42);
      const bad = await write(Buffer.from('not gzip'), 'precision=ms', {
        'content-encoding': 'gzip',
      });
      expect(bad.status).toBe(400);
    });

    it('rejects the whole body on a string field, a bad line, an unknown agent or a missing agent tag', async () => {
      const before = await rawRowCount(t);
      const ts = Date.now();
      const str = await write(
        `agent_metrics,agent_id=${a1.id} ok=1 ${ts}\nagent_metrics,agent_id=${a1.id} msg="hi" ${ts}`,
      );
      expect(str.status).toBe(400);
      expect((str.body as { message: string }).message).toContain('line 2');
      expect((str.body as { message: string }).message).toContain('string');
      const unknown = await write(`agent_metrics,agent=nobody-here cpu_usage=1 ${ts}`);
      expect(unknown.status).toBe(400);
      expect((unknown.body as { message: string }).message).toContain('nobody-here');
      expect((await write(`agent_metrics cpu_usage=1 ${ts}`)).status).toBe(400);
      expect(
        (await write(`agent_metrics,agent_id=${a1.id} cpu_usage=1 ${ts}`, 'precision=minutes'))
          .status,
      ).toBe(400);
      expect(
        (await write(`agent_metrics,agent_id=${a1.id} cpu_usage=1 ${ts + 3_600_000}`)).status,
      ).toBe(400);
      expect((await write('')).status).toBe(400);
      expect(await rawRowCount(t)).toBe(before);
    });

    it('checks the key: read-only and anonymous refused, an agent key only for its own agent', async () => {
      const line = `agent_metrics,agent_id=${a1.id} cpu_usage=3`;
      expect(
        (await write(line, 'precision=ms', { authorization: `Token ${readKey}` })).status,
      ).toBe(403);
      expect((await write(line, 'precision=ms', { authorization: '' })).status).toBe(401);
      expect(
        (await write(line, 'precision=ms', { authorization: `Token ${a2.agentKey}` })).status,
      ).toBe(403);
      expect(
        (await write(line, 'precision=ms', { authorization: `Token ${a1.agentKey}` })).status,
      ).toBe(204);
    });

    it('works with the real @influxdata/influxdb-client', async () => {
      const influx = new InfluxDB({ url: t.baseUrl, token: metricsKey });
      const api = influx.getWriteApi('org', 'bucket', 'ms', {
        gzipThreshold: 1,
        maxRetries: 0,
        batchSize: 100,
      });
      const ts = Date.now() - 30_000;
      for (let i = 0; i < 10; i++) {
        api.writeRecord(`client_test,agent_id=${a2.id},model=x value=${i} ${ts + i}`);
      }
      await api.close();
      const vals = (await rawValues(t, a2.id)).filter(
        (v) => v.name === 'client_test.value{model=x}',
      );
      expect(vals.map((v) => v.v)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    });
  });

  describe('am_ingest_rejected_samples_total', () => {
    const rejected = async () => {
      const text = (await http.get<string>('/metrics')).body;
      const out: Record<string, number> = {};
      for (const m of text.matchAll(
        /^am_ingest_rejected_samples_total\{reason="([^"]+)"\} (\S+)$/gm,
      ))
        out[m[1]] = Number(m[2]);
      return out;
    };
    const delta = (a: Record<string, number>, b: Record<string, number>) =>
      Object.fromEntries(
        Object.keys(b)
          .filter((k) => b[k] !== (a[k] ?? 0))
          .map((k) => [k, b[k] - (a[k] ?? 0)]),
      );

    it('counts every refused sample by reason; accepted ones do not count', async () => {
      const now = Date.now();
      let before = await rejected();
      // JSON: a bad value, a future timestamp and an innocent sample refused with them.
      const json = await http.post(
        '/api/v2/metrics/batch',
        {
          samples: [
            { agentId: a1.id, timestamp: now, metrics: { cpu_usage: 'x' } },
            { agentId: a1.id, timestamp: now + 3_600_000, metrics: { cpu_usage: 2 } },
            { agentId: a1.id, timestamp: now, metrics: { cpu_usage: 3 } },
          ],
        },
        bearer(metricsKey),
      );
      expect(json.status).toBe(400);
      let after = await rejected();
      expect(delta(before, after)).toEqual({ validation: 1, timestamp: 1, batch_rejected: 1 });

      // Line protocol: one line of an unknown agent among two good ones.
      before = after;
      const lp = await http.request('POST', '/api/v2/write?bucket=b&precision=ms', {
        raw: [
          `agent_metrics,agent_id=${a1.id} cpu_usage=1 ${now}`,
          `agent_metrics,agent=nobody-at-all cpu_usage=1 ${now}`,
          `agent_metrics,agent_id=${a2.id} cpu_usage=1 ${now}`,
        ].join('\n'),
        headers: { 'content-type': 'text/plain', authorization: `Token ${metricsKey}` },
      });
      expect(lp.status).toBe(400);
      after = await rejected();
      expect(delta(before, after)).toEqual({ unknown_agent: 1, batch_rejected: 2 });

      // An agent key writing for another agent; then a bad line; then an accepted batch.
      before = after;
      const other = await http.post(
        '/api/v2/metrics/batch',
        {
          samples: [
            { agentId: a2.id, metrics: { cpu_usage: 1 } },
            { agentId: a2.id, metrics: { cpu_usage: 2 } },
          ],
        },
        bearer(a1.agentKey),
      );
      expect(other.status).toBe(403);
      const bad = await http.request('POST', '/api/v2/write?bucket=b&precision=ms', {
        raw: `agent_metrics,agent_id=${a1.id} cpu_usage="high" ${now}`,
        headers: { 'content-type': 'text/plain', authorization: `Token ${metricsKey}` },
      });
      expect(bad.status).toBe(400);
      const ok = await http.post(
        '/api/v2/metrics/batch',
        { samples: [{ agentId: a1.id, timestamp: now - 1000, metrics: { cpu_usage: 5 } }] },
        bearer(metricsKey),
      );
      expect(ok.status).toBe(200);
      after = await rejected();
      expect(delta(before, after)).toEqual({ forbidden: 2, validation: 1 });
    });
  });

  describe('live new_metrics_data', () => {
    it('reaches sockets in the agent room at most once per second, carrying the latest values', async () => {
      const s: Socket<ServerToClientEvents, ClientToServerEvents> = io(
        t.baseUrl + DASHBOARD_NAMESPACE,
        {
          auth: { token: viewer.token },
          transports: ['websocket'],
          reconnection: false,
          forceNew: true,
        },
      );
      try {
        await new Promise<void>((resolve, reject) => {
          s.once('connect', () => resolve());
          s.once('connect_error', reject);
        });
        expect((await s.emitWithAck('join_agent', { agentId: a2.id })).ok).toBe(true);
        // Earlier tests wrote for this agent: let any trailing event and its window pass.
        await new Promise((r) => setTimeout(r, 2100));
        const got: Array<{ at: number; e: NewMetricsDataEvent }> = [];
        s.on('new_metrics_data', (e) => got.push({ at: Date.now(), e }));
        const base = Date.now() - 10_000;
        const started = Date.now();
        for (let i = 0; i < 5; i++) {
          const r = await http.post(
            `/api/v2/agents/${a2.id}/metrics`,
            { timestamp: base + i, metrics: { live_metric: i } },
            bearer(a2.agentKey),
          );
          expect(r.status).toBe(200);
        }
        const elapsed = Date.now() - started;
        await new Promise((r) => setTimeout(r, 1500));
        // The first sample goes at once, later ones merge into trailing events ≥ 1 s apart.
        expect(got[0].e).toMatchObject({ agentId: a2.id, values: { live_metric: 0 } });
        expect(got[got.length - 1].e.values.live_metric).toBe(4);
        for (let i = 1; i < got.length; i++)
          expect(got[i].at - got[i - 1].at).toBeGreaterThanOrEqual(900);
        expect(got.length).toBeLessThanOrEqual(2 + Math.floor(elapsed / 1000));
      } finally {
        s.disconnect();
      }
    });
  });
});

describe('latest values after a restart (read from the stored raw chunks)', () => {
  it('shows the newest sample per series set, the newest write winning a repeated timestamp', async () => {
    let t = await startTestApp({ env: { METRICS_ROLLUP_INTERVAL: '0ms' } });
    try {
      let http = client(t.baseUrl);
      const a = (await registerAgents(t, http, [{ name: 'restart-1' }])).get('restart-1')!;
      const key = { headers: { authorization: `Bearer ${a.agentKey}` } };
      const now = Date.now();
      const post = async (timestamp: number, metrics: Record<string, number>) =>
        expect(
          (await http.post(`/api/v2/agents/${a.id}/metrics`, { timestamp, metrics }, key)).status,
        ).toBe(200);
      await post(now - 60_000, { cpu_usage: 10, memory_usage: 20 });
      await post(now - 30_000, { cpu_usage: 30, disk_usage: 5 });
      await post(now - 30_000, { cpu_usage: 35 }); // a retry with a changed value
      await post(now - 90_000, { cpu_usage: 1 }); // late, older
      await t.close();
      t = await startTestApp({
        env: { METRICS_ROLLUP_INTERVAL: '0ms' },
        databaseUrl: t.databaseUrl,
      });
      http = client(t.baseUrl);
      const r = await http.get<{ latestMetrics: Record<string, number> }>(
        `/api/v2/agents/${a.id}`,
        { headers: { authorization: `Bearer ${await createApiKey(t, ['read'], 'rd2')}` } },
      );
      expect(r.status).toBe(200);
      expect(r.body.latestMetrics).toEqual({ cpu_usage: 35, disk_usage: 5 });
    } finally {
      await t.close();
      await t.dropDatabase();
    }
  });
});

describe('agent ids past their cache time (another instance may have deleted the agent)', () => {
  it('are still accepted while checked again in the background, then refused if gone', async () => {
    const t = await startTestApp({ env: { METRICS_ROLLUP_INTERVAL: '0ms' } });
    const realNow = Date.now.bind(Date);
    try {
      const http = client(t.baseUrl);
      const agents = await registerAgents(t, http, [{ name: 'kept' }, { name: 'gone' }]);
      const kept = agents.get('kept')!;
      const gone = agents.get('gone')!;
      const post = async (a: RegisterAgentResponse) =>
        (
          await http.post(
            `/api/v2/agents/${a.id}/metrics`,
            { metrics: { cpu_usage: 1 } },
            { headers: { authorization: `Bearer ${a.agentKey}` } },
          )
        ).status;
      expect([await post(kept), await post(gone)]).toEqual([200, 200]);
      // deleted behind this instance's back (no event reaches it)
      await t.sql(`UPDATE agents SET deleted_at = now() WHERE id = $1`, [gone.id]);
      expect(await post(gone)).toBe(200); // still within the 30 s the id is trusted
      const later = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + 31_000);
      try {
        // past it: used once more while the background check runs, refused after it
        expect(await post(gone)).toBe(200);
        let status = 200;
        for (let i = 0; i < 50 && status === 200; i++) {
          await new Promise((r) => setTimeout(r, 20));
          status = await post(gone);
        }
        expect(status).toBe(404);
        expect(await post(kept)).toBe(200);
        expect(await post(kept)).toBe(200);
      } finally {
        later.mockRestore();
      }
    } finally {
      await t.close();
      await t.dropDatabase();
    }
  });
});
