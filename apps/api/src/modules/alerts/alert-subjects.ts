import type { AlertScope } from '@agent-monitor/contracts';
import { selectorMatches, type MetricSelector } from './condition-eval.js';

/**
 * Which agents and which series label sets a rule is about. The live engine and the backtest
 * both decide through these two functions, so a preview scopes and filters exactly as the
 * rule will once it runs.
 */

/** What scoping needs to know about an agent. */
export interface ScopeSubject {
  id: string;
  type: string | null;
  environment: string | null;
  tags: Record<string, string>;
  /** Agent groups it belongs to (explicitly, by tag selector, or through a child group). */
  groups: string[];
}

export function inScope(scope: AlertScope, a: ScopeSubject): boolean {
  if (scope.agentIds?.length && !scope.agentIds.includes(a.id)) return false;
  if (scope.type && a.type !== scope.type) return false;
  if (scope.environment && a.environment !== scope.environment) return false;
  for (const [k, v] of Object.entries(scope.tags ?? {})) if (a.tags[k] !== v) return false;
  if (scope.groupIds?.length && !a.groups.some((g) => scope.groupIds!.includes(g))) return false;
  return true;
}

/** `ai_metrics.inference_time{model=gpt4}` → base `ai_metrics.inference_time`, label key `model=gpt4`. */
export function splitQueryName(name: string): { base: string; labelKey: string } {
  const brace = name.indexOf('{');
  return brace === -1
    ? { base: name, labelKey: '' }
    : { base: name.slice(0, brace), labelKey: name.slice(brace + 1, -1) };
}

/**
 * The series label sets a rule evaluates for one agent: every set of a selector's metric that
 * the selector admits (one alert per set), plus '' (the metrics as named) when none matched or
 * an unfiltered selector's metric has an unlabelled series too.
 */
export function subjectLabelKeys(
  selectors: MetricSelector[],
  labelSets: (base: string) => Iterable<string> | undefined,
  hasUnlabelled: (base: string) => boolean,
): Set<string> {
  const out = new Set<string>();
  let unlabelled = false;
  for (const sel of selectors) {
    const sets = labelSets(sel.base);
    if (sets) for (const lk of sets) if (selectorMatches(sel, lk)) out.add(lk);
    if (!sel.filter.length && hasUnlabelled(sel.base)) unlabelled = true;
  }
  if (!out.size || unlabelled) out.add('');
  return out;
}
