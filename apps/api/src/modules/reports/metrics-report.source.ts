import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import {
  DEFAULT_MEASUREMENT,
  type ReportLlmRow,
  type ReportMetricRow,
} from '@agent-monitor/contracts';
import { ReportMetricsSource } from './report-metrics.source.js';

/** Fields whose samples are amounts of LLM usage (summed per model). */
const TOKEN_FIELDS = ['tokens', 'tokens_used', 'total_tokens'];
const COST_FIELDS = ['cost', 'cost_usd'];

const round = (v: number | null) => (v === null ? null : Math.round(v * 1000) / 1000);

/**
 * Metric summaries and LLM usage from the metrics store's raw samples (exact avg, p95, max over
 * the period; raw retention bounds how far back this reaches). Read-only over the metrics
 * domain's tables: one aggregate query each instead of one history query per agent and metric.
 */
@Injectable()
export class SqlReportMetricsSource extends ReportMetricsSource {
  constructor(private readonly db: DataSource) {
    super();
  }

  async summaries(agentIds: string[], from: string, to: string): Promise<ReportMetricRow[]> {
    if (!agentIds.length || !(await this.present())) return [];
    const rows: Array<{
      measurement: string;
      labels: string;
      field: string;
      samples: number;
      avg: number | null;
      p95: number | null;
      max: number | null;
    }> = await this.db.query(
      `SELECT s.measurement, s.labels, f.name AS field, count(*)::int AS samples,
              avg(f.v)::float8 AS avg,
              percentile_cont(0.95) WITHIN GROUP (ORDER BY f.v)::float8 AS p95,
              max(f.v)::float8 AS max
         FROM metric_raw_values(
                ARRAY(SELECT id FROM metric_series WHERE agent_id = ANY($1::uuid[])), $2, $3) r
         JOIN metric_series s ON s.id = r.series_id
         CROSS JOIN LATERAL (SELECT s.fields[r.f] AS name, r.v) f
        WHERE f.name IS NOT NULL
        GROUP BY s.measurement, s.labels, f.name
        ORDER BY 1, 3, 2
        LIMIT 500`,
      [agentIds, from, to],
    );
    return rows.map((r) => ({
      metric:
        (r.measurement === DEFAULT_MEASUREMENT ? r.field : `${r.measurement}.${r.field}`) +
        (r.labels ? `{${r.labels}}` : ''),
      samples: r.samples,
      avg: round(r.avg),
      p95: round(r.p95),
      max: round(r.max),
    }));
  }

  /** Token and cost samples summed per `model` label (samples are amounts, not counters). */
  async llmUsage(agentIds: string[], from: string, to: string): Promise<ReportLlmRow[]> {
    if (!agentIds.length || !(await this.present())) return [];
    const rows: Array<{ model: string; tokens: number | null; cost: number | null }> =
      await this.db.query(
        `SELECT m.model,
                sum(f.v) FILTER (WHERE f.name = ANY($4::text[]))::float8 AS tokens,
                sum(f.v) FILTER (WHERE f.name = ANY($5::text[]))::float8 AS cost
           FROM metric_raw_values(
                  ARRAY(SELECT id FROM metric_series WHERE agent_id = ANY($1::uuid[])), $2, $3) r
           JOIN metric_series s ON s.id = r.series_id
           CROSS JOIN LATERAL (SELECT substring(s.labels FROM '(?:^|,)model=((?:[^,\\\\]|\\\\.)*)') AS model) m
           CROSS JOIN LATERAL (SELECT s.fields[r.f] AS name, r.v) f
          WHERE m.model IS NOT NULL
            AND (f.name = ANY($4::text[]) OR f.name = ANY($5::text[]))
          GROUP BY m.model ORDER BY m.model`,
        [agentIds, from, to, TOKEN_FIELDS, COST_FIELDS],
      );
    return rows.map((r) => ({
      model: r.model.replace(/\\(.)/g, '$1'),
      tokens: Math.round(r.tokens ?? 0),
      cost: Math.round((r.cost ?? 0) * 1e6) / 1e6,
    }));
  }

  private async present(): Promise<boolean> {
    const [{ ok }]: Array<{ ok: boolean }> = await this.db.query(
      `SELECT to_regclass('metric_raw') IS NOT NULL AND to_regclass('metric_series') IS NOT NULL AS ok`,
    );
    return ok;
  }
}
