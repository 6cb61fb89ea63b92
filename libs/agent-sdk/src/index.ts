export const SDK_VERSION = '0.1.0';
export { AgentClient, type AgentClientOptions } from './agent-client.js';
export { AgentApiError, type FetchLike } from './errors.js';
export { ActivityReporter, type ActivityReporterOptions, type CommitInput } from './activity.js';
export {
  MetricsBuffer,
  type MetricsBufferOptions,
  type MetricsBufferStats,
} from './metrics-buffer.js';
export { toLineProtocol, toLineProtocolBody, type LinePoint } from './line-protocol.js';
