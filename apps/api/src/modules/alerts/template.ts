/**
 * A logic-free summary renderer: `{{ path }}` is replaced by a value from a fixed, flat map
 * (agent.name, value, threshold, labels.x …). There are no helpers, partials, includes,
 * expressions or loops, so a template can neither read files nor run code: anything that is
 * not a known placeholder stays in the output exactly as written.
 */
const PLACEHOLDER = /\{\{\s*([A-Za-z_][\w]*(?:\.[A-Za-z_][\w.-]*)*)\s*\}\}/g;

export type TemplateVars = Record<string, string | number | null | undefined>;

export function renderTemplate(template: string, vars: TemplateVars): string {
  return template.replace(PLACEHOLDER, (whole, path: string) => {
    if (!Object.prototype.hasOwnProperty.call(vars, path)) return whole;
    const v = vars[path];
    if (v === null || v === undefined) return '';
    return typeof v === 'number' ? formatNumber(v) : v;
  });
}

export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(6)));
}

/** The variables a summary can use for one alert. */
export function alertTemplateVars(a: {
  ruleName: string;
  severity: string;
  agentId: string | null;
  agentName: string | null;
  value: number | null;
  threshold: number | null;
  metric: string | null;
  labels: Record<string, string>;
}): TemplateVars {
  const vars: TemplateVars = {
    'rule.name': a.ruleName,
    severity: a.severity,
    'agent.id': a.agentId,
    'agent.name': a.agentName ?? a.agentId ?? 'all agents',
    value: a.value,
    threshold: a.threshold,
    metric: a.metric,
  };
  for (const [k, v] of Object.entries(a.labels)) vars[`labels.${k}`] = v;
  return vars;
}

/** For HTML email bodies: agent names and summaries are user-controlled. */
export function escapeHtml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
