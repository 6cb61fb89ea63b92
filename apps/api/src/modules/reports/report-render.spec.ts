import { emptyAlertSummary, type Report } from '@agent-monitor/contracts';
import { reportToCsv, reportToPdf } from './report-render.js';

const report: Report = {
  generatedAt: '2026-01-08T00:00:00.000Z',
  from: '2026-01-01T00:00:00.000Z',
  to: '2026-01-08T00:00:00.000Z',
  scope: { kind: 'all', label: 'All agents' },
  fleet: {
    agentCount: 1,
    availabilityPct: 99.5,
    onlineSec: 199,
    observedSec: 200,
    alerts: emptyAlertSummary(),
  },
  agents: [
    {
      agentId: 'a1',
      name: '=HYPERLINK("x"), "quoted"',
      type: 'web',
      environment: null,
      availabilityPct: null,
      onlineSec: 0,
      observedSec: 0,
      alerts: { ...emptyAlertSummary(), total: 2, mttaSec: 30 },
      tasksCompleted: 3,
      commits: 4,
    },
  ],
  groups: [],
  metrics: [],
  llm: [],
  notes: ['line one'],
};

describe('report rendering', () => {
  it('CSV quotes commas and quotes, neutralises formulas, leaves nulls empty', () => {
    const lines = reportToCsv(report).trim().split('\r\n');
    expect(lines[0]).toBe('section,subject_id,subject,measure,value');
    expect(lines).toContain(`agent,a1,"'=HYPERLINK(""x""), ""quoted""",availability_pct,`);
    expect(lines).toContain(`agent,a1,"'=HYPERLINK(""x""), ""quoted""",mtta_sec,30`);
    expect(lines).toContain('fleet,,All agents,availability_pct,99.5');
    expect(lines).toContain('note,,,note,line one');
  });

  it('PDF is a PDF document', async () => {
    const pdf = await reportToPdf(report);
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    expect(pdf.length).toBeGreaterThan(1000);
  });
});
