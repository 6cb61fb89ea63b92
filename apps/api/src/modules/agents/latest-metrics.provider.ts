/**
 * The seam through which agent lists and details show each agent's latest metric values.
 * The metrics domain implements it (a hot cache) and provides it globally:
 * `{ provide: LatestMetricsProvider, useExisting: TheirCache }` in a `@Global()` module that
 * exports it. Until then agents show `latestMetrics: null`.
 */
export abstract class LatestMetricsProvider {
  /** Latest value per query name (`cpu_usage`, …) for each agent that has any. */
  abstract latestFor(agentIds: string[]): Promise<Map<string, Record<string, number>>>;
}
