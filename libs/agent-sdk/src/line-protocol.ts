/**
 * InfluxDB line-protocol output, as `POST /api/v2/write` (and InfluxDB itself) reads it.
 *
 *   toLineProtocol({ measurement: 'ai_metrics', tags: { agent_id: id, model: 'gpt4' },
 *                    fields: { tokens: 1200, ok: true }, timestamp: Date.now() })
 *   → 'ai_metrics,agent_id=…,model=gpt4 tokens=1200,ok=true 1700000000000'   (precision ms)
 */
export interface LinePoint {
  measurement: string;
  tags?: Record<string, string>;
  /** Numbers and booleans (Agent Monitor refuses strings). */
  fields: Record<string, number | boolean>;
  /** Epoch milliseconds; omitted means the server's now. */
  timestamp?: number;
}

const escMeasurement = (s: string) => s.replace(/[, \\]/g, (c) => '\\' + c);
const escKey = (s: string) => s.replace(/[,= \\]/g, (c) => '\\' + c);

function fieldValue(v: number | boolean): string {
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (!Number.isFinite(v)) throw new RangeError(`field value ${v} is not a finite number`);
  return String(v);
}

/** One line (no trailing newline); timestamps in ms (send with `precision=ms`). */
export function toLineProtocol(p: LinePoint): string {
  let line = escMeasurement(p.measurement);
  const tags = Object.entries(p.tags ?? {})
    .filter(([, v]) => v !== '')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [k, v] of tags) line += `,${escKey(k)}=${escKey(v)}`;
  const fields = Object.entries(p.fields);
  if (!fields.length) throw new RangeError('a line needs at least one field');
  line += ' ' + fields.map(([k, v]) => `${escKey(k)}=${fieldValue(v)}`).join(',');
  if (p.timestamp !== undefined) line += ` ${Math.round(p.timestamp)}`;
  return line;
}

/** Many lines joined with newlines (a request body). */
export function toLineProtocolBody(points: LinePoint[]): string {
  return points.map(toLineProtocol).join('\n') + (points.length ? '\n' : '');
}
