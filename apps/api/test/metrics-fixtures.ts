import type { RegisterAgentResponse } from '@agent-monitor/contracts';
import { createApiKey } from './agents-fixtures.js';
import type { Client } from './support/http.js';
import type { TestApp } from './support/test-app.js';

/** Registers agents over HTTP (with an agents:register key); returns id and agent key by name. */
export async function registerAgents(
  t: TestApp,
  http: Client,
  agents: Array<{
    name: string;
    type?: string;
    environment?: string;
    host?: string;
    tags?: Record<string, string>;
  }>,
): Promise<Map<string, RegisterAgentResponse>> {
  const key = await createApiKey(
    t,
    ['agents:register'],
    `reg-${Math.random().toString(36).slice(2, 7)}`,
  );
  const out = new Map<string, RegisterAgentResponse>();
  for (const a of agents) {
    const r = await http.post<RegisterAgentResponse>(
      '/api/v2/agents/register',
      { type: 'worker', host: `${a.name}.local`, ...a },
      { headers: { authorization: `Bearer ${key}` } },
    );
    if (r.status !== 201 && r.status !== 200) {
      throw new Error(`register ${a.name} → ${r.status} ${JSON.stringify(r.body)}`);
    }
    out.set(a.name, r.body);
  }
  return out;
}

export interface RawValue {
  name: string;
  ts: Date;
  v: number;
}

/** Every stored raw value of an agent, as (query-style field name, ts, value), sorted. */
export async function rawValues(t: TestApp, agentId: string): Promise<RawValue[]> {
  const rows = await t.sql<{
    measurement: string;
    labels: string;
    field: string;
    ts: Date;
    v: number;
  }>(
    `SELECT s.measurement, s.labels, s.fields[u.i] AS field, r.ts, u.v
       FROM metric_series s JOIN metric_raw r ON r.series_id = s.id
       CROSS JOIN LATERAL unnest(r.vals) WITH ORDINALITY AS u(v, i)
      WHERE s.agent_id = $1 AND u.v IS NOT NULL
      ORDER BY r.ts, s.measurement, s.labels, u.i`,
    [agentId],
  );
  return rows.map((r) => ({
    name:
      (r.measurement === 'agent_metrics' ? r.field : `${r.measurement}.${r.field}`) +
      (r.labels ? `{${r.labels}}` : ''),
    ts: r.ts,
    v: Number(r.v),
  }));
}

export async function rawRowCount(t: TestApp): Promise<number> {
  return Number((await t.sql<{ n: string }>(`SELECT count(*) AS n FROM metric_raw`))[0].n);
}
