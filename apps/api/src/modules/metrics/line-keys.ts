import { formatLabels } from '@agent-monitor/contracts';
import type { LineReaderHooks } from './line-protocol.parser.js';

/**
 * What a line-protocol series key means (pure: it runs in the parser thread too).
 */

const NAME_PART = /^[A-Za-z_][\w:-]{0,127}$/;
/** Tags that name the agent in line protocol (in this order); they are not series labels. */
const AGENT_TAGS = ['agent_id', 'agent', 'host'];

/** What a line-protocol series key means: the agent reference and the canonical labels. */
export interface LineMeta {
  ref: string | null;
  labels: string;
}

/** Meaning and problems of a line-protocol series key (once per distinct key). */
function describeKey(
  measurement: string,
  tags: Array<[string, string]>,
): { meta: LineMeta; errors: string[] } {
  const errors: string[] = [];
  let ref: string | null = null;
  for (const t of AGENT_TAGS) {
    const hit = tags.find(([k]) => k === t);
    if (hit) {
      ref = hit[1];
      break;
    }
  }
  if (ref === null) errors.push('no agent_id, agent or host tag names the agent');
  if (!NAME_PART.test(measurement)) {
    errors.push(`measurement "${measurement.slice(0, 60)}": use letters, digits, _ : -`);
  }
  const own = tags.filter(([k]) => !AGENT_TAGS.includes(k));
  for (const [k] of own) {
    if (!NAME_PART.test(k)) errors.push(`tag key "${k.slice(0, 60)}": use letters, digits, _ : -`);
  }
  return { meta: { ref, labels: own.length ? formatLabels(own) : '' }, errors };
}

export const LINE_KEY_HOOKS: LineReaderHooks<LineMeta> = {
  describe: describeKey,
  checkField: (f) =>
    NAME_PART.test(f) ? null : `field "${f.slice(0, 60)}": use letters, digits, _ : -`,
};
