import { randomBytes } from 'node:crypto';
import { ActivityReporter } from '../../libs/agent-sdk/src/index.js';
import type { SimulatedAgent } from './fleet.js';

const TITLES = [
  'Add retry to the webhook sender',
  'Fix flaky login test',
  'Refactor metrics query builder',
  'Write docs for rollouts',
  'Bump dependencies',
  'Speed up the agents list',
  'Handle empty config on register',
  'Add dark mode to charts',
];
const BRANCHES = ['main', 'feat/login', 'fix/race', 'chore/deps'];

interface Work {
  reporter: ActivityReporter;
  name: string;
  task: { id: string; step: number } | null;
}

/**
 * The simulated coding agents (type llm_agent) work through tasks: created → assigned →
 * (sometimes blocked) → completed, committing as they go, so the dashboard's task board,
 * commit feed and velocity move. Returns a stop function.
 */
export function startCodingActivity(
  fleet: SimulatedAgent[],
  url: string,
  everyMs: number,
  log: (line: string) => void,
): () => void {
  const work: Work[] = fleet
    .filter((a) => a.type === 'llm_agent' && a.client.agentId && a.client.agentKey)
    .map((a) => ({
      name: a.name,
      task: null,
      reporter: new ActivityReporter({
        baseUrl: url,
        agentId: a.client.agentId!,
        agentKey: a.client.agentKey!,
      }),
    }));
  let n = 0;
  const step = async (w: Work): Promise<void> => {
    if (!w.task) {
      const id = `SIM-${++n}-${randomBytes(2).toString('hex')}`;
      w.task = { id, step: 0 };
      await w.reporter.task('created', id, {
        title: TITLES[Math.floor(Math.random() * TITLES.length)],
      });
      return;
    }
    const t = w.task;
    t.step++;
    if (t.step === 1) {
      await w.reporter.task('assigned', t.id, { assignee: w.name });
    } else if (t.step === 2 && Math.random() < 0.2) {
      await w.reporter.task('blocked', t.id, { details: { reason: 'waiting for review' } });
    } else if (t.step >= 2 && Math.random() < 0.6) {
      await w.reporter.commits({
        hash: randomBytes(20).toString('hex'),
        branch: BRANCHES[Math.floor(Math.random() * BRANCHES.length)],
        author: w.name,
        message: `Work on ${t.id}`,
        filesChanged: 1 + Math.floor(Math.random() * 6),
        linesAdded: Math.floor(Math.random() * 200),
        linesRemoved: Math.floor(Math.random() * 80),
        committedAt: new Date(),
      });
      await w.reporter.task('completed', t.id);
      w.task = null;
    } else if (t.step > 2) {
      await w.reporter.task('updated', t.id, { statusAfter: 'in_progress' });
    }
  };
  const timer = setInterval(() => {
    for (const w of work) step(w).catch((e: unknown) => log(`${w.name}: ${(e as Error).message}`));
  }, everyMs);
  if (work.length) log(`${work.length} coding agents report tasks and commits`);
  return () => clearInterval(timer);
}
