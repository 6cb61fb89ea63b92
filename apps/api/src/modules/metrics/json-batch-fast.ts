import { MAX_BATCH_SAMPLES, MetricsBatchSampleSchema } from '@agent-monitor/contracts';
import { JsonReader, type JsonNames } from './json-reader.js';

/**
 * The common case of a parsed JSON metrics batch, read without walking it through the contract
 * schema first (zod is ~1.2 µs per sample, a fifth of the parser thread's JSON work).
 *
 * It reads a batch only when every sample is in the plainest form MetricsBatchSchema accepts —
 * `{"samples": [{"agentId": <uuid>, "timestamp"?: <integer ≥ 0>, "metrics": {<1..1000 names of
 * 1..512 chars>: <any>}}, …]}` with 1..MAX_BATCH_SAMPLES samples and no other keys — and the
 * agent id is checked by the schema's own uuid check (once per distinct id). So whatever it
 * reads, the schema accepts; anything else (an ISO timestamp, a count out of bounds, an unknown
 * key…) returns null before a result is used, and the caller validates with the schema, which
 * stays the one definition of what is valid and gives every refusal's message.
 * `json-batch-fast.spec.ts` compares both paths on fuzzed input.
 */

const AgentIdSchema = MetricsBatchSampleSchema.shape.agentId;
const MAX_METRICS = 1000;
const MAX_NAME = 512;
/** Agent ids that passed the schema's uuid check. */
const validIds = new Set<string>();
const MAX_VALID_IDS = 100_000;

function agentIdOk(id: unknown): id is string {
  if (typeof id !== 'string') return false;
  if (validIds.has(id)) return true;
  if (!AgentIdSchema.safeParse(id).success) return false;
  if (validIds.size >= MAX_VALID_IDS) validIds.clear();
  validIds.add(id);
  return true;
}

const isRecord = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);

export interface PlainBatch {
  reader: JsonReader;
  /** Samples per agent id, in first-seen order. */
  perAgent: Map<string, number>;
}

/** Reads `value` (JSON.parse output) when it is a plain batch; null otherwise. */
export function readPlainBatch(
  value: unknown,
  names: JsonNames,
  nowMs: number,
  retentionMs: number,
): PlainBatch | null {
  if (!isRecord(value)) return null;
  for (const k in value) if (k !== 'samples') return null;
  const samples = value.samples;
  if (!Array.isArray(samples) || samples.length < 1 || samples.length > MAX_BATCH_SAMPLES) {
    return null;
  }
  const reader = new JsonReader(names, nowMs, samples.length, retentionMs);
  const perAgent = new Map<string, number>();
  for (let i = 0; i < samples.length; i++) {
    const x: unknown = samples[i];
    if (!isRecord(x)) return null;
    let agentId: unknown;
    let timestamp: unknown;
    let metrics: unknown;
    for (const k in x) {
      if (k === 'agentId') agentId = x[k];
      else if (k === 'timestamp') timestamp = x[k];
      else if (k === 'metrics') metrics = x[k];
      else return null;
    }
    if (!agentIdOk(agentId) || !isRecord(metrics)) return null;
    if (
      timestamp !== undefined &&
      !(typeof timestamp === 'number' && Number.isSafeInteger(timestamp) && timestamp >= 0)
    ) {
      return null;
    }
    let n = 0;
    for (const name in metrics) {
      if (name.length < 1 || name.length > MAX_NAME) return null;
      n++;
    }
    if (n < 1 || n > MAX_METRICS) return null;
    perAgent.set(agentId, (perAgent.get(agentId) ?? 0) + 1);
    reader.add(agentId, timestamp, metrics, i);
  }
  return { reader, perAgent };
}
