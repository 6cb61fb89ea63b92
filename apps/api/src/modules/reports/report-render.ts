import PDFDocument from 'pdfkit';
import { ALERT_SEVERITIES, type AlertSummary, type Report } from '@agent-monitor/contracts';

/** RFC 4180 field: quoted when it holds a comma, quote or line break; formulas neutralised. */
function csvField(v: string | number | null): string {
  if (v === null) return '';
  let s = String(v);
  // Spreadsheets run cells starting with = + - @ as formulas; names come from agents.
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function alertMeasures(a: AlertSummary): Array<[string, number | null]> {
  return [
    ['alerts_total', a.total],
    ...ALERT_SEVERITIES.map((s): [string, number] => [`alerts_${s}`, a.bySeverity[s]]),
    ['mtta_sec', a.mttaSec],
    ['mttr_sec', a.mttrSec],
  ];
}

/**
 * The report in long ("tidy") form: one value per line, `section,subject_id,subject,measure,value`.
 * Every figure of the JSON report appears once, so a spreadsheet pivot rebuilds any table.
 */
export function reportToCsv(r: Report): string {
  const lines: string[] = ['section,subject_id,subject,measure,value'];
  const add = (
    section: string,
    id: string,
    subject: string,
    measure: string,
    v: number | string | null,
  ) => lines.push([section, id, subject, measure, v].map((x) => csvField(x)).join(','));
  add('report', '', r.scope.label, 'from', r.from);
  add('report', '', r.scope.label, 'to', r.to);
  const f = r.fleet;
  add('fleet', '', r.scope.label, 'agent_count', f.agentCount);
  add('fleet', '', r.scope.label, 'availability_pct', f.availabilityPct);
  add('fleet', '', r.scope.label, 'online_sec', f.onlineSec);
  add('fleet', '', r.scope.label, 'observed_sec', f.observedSec);
  for (const [m, v] of alertMeasures(f.alerts)) add('fleet', '', r.scope.label, m, v);
  for (const g of r.groups) {
    add('group', g.groupId, g.name, 'agent_count', g.agentCount);
    add('group', g.groupId, g.name, 'availability_pct', g.availabilityPct);
    add('group', g.groupId, g.name, 'online_sec', g.onlineSec);
    add('group', g.groupId, g.name, 'observed_sec', g.observedSec);
    for (const [m, v] of alertMeasures(g.alerts)) add('group', g.groupId, g.name, m, v);
  }
  for (const a of r.agents) {
    add('agent', a.agentId, a.name, 'availability_pct', a.availabilityPct);
    add('agent', a.agentId, a.name, 'online_sec', a.onlineSec);
    add('agent', a.agentId, a.name, 'observed_sec', a.observedSec);
    for (const [m, v] of alertMeasures(a.alerts)) add('agent', a.agentId, a.name, m, v);
    add('agent', a.agentId, a.name, 'tasks_completed', a.tasksCompleted);
    add('agent', a.agentId, a.name, 'commits', a.commits);
  }
  for (const m of r.metrics) {
    add('metric', '', m.metric, 'samples', m.samples);
    add('metric', '', m.metric, 'avg', m.avg);
    add('metric', '', m.metric, 'p95', m.p95);
    add('metric', '', m.metric, 'max', m.max);
  }
  for (const l of r.llm) {
    add('llm', '', l.model, 'tokens', l.tokens);
    add('llm', '', l.model, 'cost', l.cost);
  }
  for (const n of r.notes) add('note', '', '', 'note', n);
  return lines.join('\r\n') + '\r\n';
}

const fmt = (v: number | null, unit = '') => (v === null ? '—' : `${v}${unit}`);
const dur = (sec: number | null) => {
  if (sec === null) return '—';
  if (sec < 60) return `${Math.round(sec)} s`;
  if (sec < 3600) return `${Math.round(sec / 60)} min`;
  return `${Math.round((sec / 3600) * 10) / 10} h`;
};

/** A printable A4 report (pdfkit, built-in Helvetica). */
export function reportToPdf(r: Report): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const doc = new PDFDocument({
      size: 'A4',
      margin: 40,
      info: { Title: 'Agent Monitor report' },
    });
    const chunks: Buffer[] = [];
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);

    doc.fontSize(18).text('Agent Monitor — fleet report');
    doc.moveDown(0.3).fontSize(10).fillColor('#555');
    doc.text(`${r.scope.label} · ${r.from} to ${r.to} · generated ${r.generatedAt}`);
    doc.fillColor('#000').moveDown();

    const table = (
      title: string,
      headers: string[],
      rows: Array<Array<string>>,
      widths: number[],
    ) => {
      doc.fontSize(13).text(title);
      doc.moveDown(0.3).fontSize(9);
      const x0 = doc.page.margins.left;
      const line = (cells: string[], bold: boolean) => {
        if (doc.y > doc.page.height - doc.page.margins.bottom - 20) doc.addPage();
        const y = doc.y;
        let x = x0;
        doc.font(bold ? 'Helvetica-Bold' : 'Helvetica');
        cells.forEach((c, i) => {
          doc.text(c, x, y, { width: widths[i] - 4, lineBreak: false, ellipsis: true });
          x += widths[i];
        });
        doc.x = x0;
        doc.y = y + 13;
      };
      line(headers, true);
      if (!rows.length) line(['(none)'], false);
      for (const row of rows) line(row, false);
      doc.font('Helvetica').moveDown();
    };

    const f = r.fleet;
    table(
      'Fleet',
      ['Agents', 'Availability', 'Alerts', 'Critical', 'Error', 'Warning', 'Info', 'MTTA', 'MTTR'],
      [
        [
          String(f.agentCount),
          fmt(f.availabilityPct, ' %'),
          String(f.alerts.total),
          String(f.alerts.bySeverity.critical),
          String(f.alerts.bySeverity.error),
          String(f.alerts.bySeverity.warning),
          String(f.alerts.bySeverity.info),
          dur(f.alerts.mttaSec),
          dur(f.alerts.mttrSec),
        ],
      ],
      [50, 70, 50, 50, 50, 55, 45, 70, 70],
    );
    if (r.groups.length) {
      table(
        'Groups',
        ['Group', 'Agents', 'Availability', 'Alerts', 'MTTA', 'MTTR'],
        r.groups.map((g) => [
          g.name,
          String(g.agentCount),
          fmt(g.availabilityPct, ' %'),
          String(g.alerts.total),
          dur(g.alerts.mttaSec),
          dur(g.alerts.mttrSec),
        ]),
        [170, 50, 80, 60, 80, 80],
      );
    }
    table(
      'Agents',
      ['Agent', 'Type', 'Availability', 'Alerts', 'MTTA', 'MTTR', 'Tasks', 'Commits'],
      r.agents.map((a) => [
        a.name,
        a.type,
        fmt(a.availabilityPct, ' %'),
        String(a.alerts.total),
        dur(a.alerts.mttaSec),
        dur(a.alerts.mttrSec),
        String(a.tasksCompleted),
        String(a.commits),
      ]),
      [130, 80, 70, 45, 55, 55, 40, 45],
    );
    if (r.metrics.length) {
      table(
        'Metrics',
        ['Metric', 'Samples', 'Avg', 'p95', 'Max'],
        r.metrics.map((m) => [m.metric, String(m.samples), fmt(m.avg), fmt(m.p95), fmt(m.max)]),
        [200, 70, 80, 80, 80],
      );
    }
    if (r.llm.length) {
      table(
        'LLM usage',
        ['Model', 'Tokens', 'Cost (USD)'],
        r.llm.map((l) => [l.model, String(l.tokens), l.cost.toFixed(4)]),
        [200, 120, 120],
      );
    }
    if (r.notes.length) {
      doc.fontSize(9).fillColor('#555');
      for (const n of r.notes) doc.text(`Note: ${n}`);
    }
    doc.end();
  });
}
