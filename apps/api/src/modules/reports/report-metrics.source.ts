import type { ReportLlmRow, ReportMetricRow } from '@agent-monitor/contracts';

/**
 * Where reports get metric summaries and LLM usage. Provided when the metrics store is
 * installed (see reports.module.ts); without it the report says the section is unavailable.
 */
export abstract class ReportMetricsSource {
  abstract summaries(agentIds: string[], from: string, to: string): Promise<ReportMetricRow[]>;
  abstract llmUsage(agentIds: string[], from: string, to: string): Promise<ReportLlmRow[]>;
}
