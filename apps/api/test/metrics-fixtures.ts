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

/**
 * Every stored raw value as (series_id, ts, f 1-based field position, v): one per (series set,
 * timestamp, field), of duplicates the newest write's, as the API's readers see them.
 */
export const RAW_VALUES = `metric_raw_values(ARRAY(SELECT id FROM metric_series), '-infinity', 'infinity')`;

/** Every stored raw value of an agent, as (query-style field name, ts, value), sorted. */
export async function rawValues(t: TestApp, agentId: string): Promise<RawValue[]> {
  const rows = await t.sql<{
    measurement: string;
    labels: string;
    field: string;
    ts: Date;
    v: number;
  }>(
    `SELECT s.measurement, s.labels, s.fields[r.f] AS field, r.ts, r.v
       FROM ${RAW_VALUES} r JOIN metric_series s ON s.id = r.series_id
      WHERE s.agent_id = $1
      ORDER BY r.ts, s.measurement, s.labels, r.f`,
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

/** Rows of metric_raw (chunks: a write adds at least one). */
export async function rawRowCount(t: TestApp): Promise<number> {
  return Number((await t.sql<{ n: string }>(`SELECT count(*) AS n FROM metric_raw`))[0].n);
}
