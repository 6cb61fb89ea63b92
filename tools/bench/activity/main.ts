/**
 * Coordination-activity ingest: C concurrent senders post batches of task events and commits
 * (with a share of duplicate hashes) to a running Agent Monitor for --duration seconds, then
 * print requests/s, rows/s and p50/p99/max latency per endpoint, and the board and velocity
 * read latency at the end.
 *
 *   npx tsx tools/bench/activity/main.ts --url http://127.0.0.1:3000 --email E --password P
 *        [--agents 20] [--concurrency 16] [--batch 50] [--duration 15]
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:3000' },
    email: { type: 'string' },
    password: { type: 'string' },
    agents: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '16' },
    batch: { type: 'string', default: '50' },
    duration: { type: 'string', default: '15' },
  },
});
const URL_ = args.url!.replace(/\/+$/, '') + '/api/v2';
const BATCH = Number(args.batch);

async function call<T>(method: string, path: string, token: string, body?: unknown): Promise<T> {
  const res = await fetch(URL_ + path, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 200)}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};
const fmt = (v: number) => v.toFixed(1).padStart(7);

async function main(): Promise<void> {
  if (!args.email || !args.password)
    throw new Error('--email and --password (an operator) are required');
  const login = await call<{ accessToken: string }>('POST', '/auth/login', '', {
    email: args.email,
    password: args.password,
  });
  const token = login.accessToken;
  const agents: Array<{ id: string; key: string }> = [];
  const run = randomBytes(3).toString('hex');
  for (let i = 0; i < Number(args.agents); i++) {
    const r = await call<{ id: string; agentKey: string }>('POST', '/agents/register', token, {
      name: `bench-coder-${run}-${i}`,
      type: 'llm_agent',
      host: 'bench',
    });
    agents.push({ id: r.id, key: r.agentKey });
  }
  const lat = { events: [] as number[], commits: [] as number[] };
  let rows = 0;
  let dupes = 0;
  let errors = 0;
  let task = 0;
  const recent: string[] = [];
  const end = Date.now() + Number(args.duration) * 1000;
  const worker = async (w: number) => {
    let n = 0;
    while (Date.now() < end) {
      const a = agents[(w + n++) % agents.length];
      const t0 = performance.now();
      try {
        if (n % 2) {
          const events = Array.from({ length: BATCH }, (_, i) => ({
            type: (['created', 'assigned', 'completed'] as const)[i % 3],
            taskId: `B-${run}-${Math.floor(task++ / 3)}`,
            title: 'bench task',
          }));
          await call('POST', `/agents/${a.id}/events`, a.key, { events });
          lat.events.push(performance.now() - t0);
        } else {
          // A fifth of each batch resends hashes already sent: the dedup path.
          const commits = Array.from({ length: BATCH }, (_, i) => {
            const hash =
              i < BATCH / 5 && recent.length
                ? recent[i % recent.length]
                : randomBytes(20).toString('hex');
            if (recent.length < 500) recent.push(hash);
            return {
              hash,
              branch: 'main',
              author: 'bench',
              message: 'm',
              committedAt: new Date().toISOString(),
            };
          });
          const r = await call<{ duplicates: number }>('POST', `/agents/${a.id}/commits`, a.key, {
            commits,
          });
          dupes += r.duplicates;
          lat.commits.push(performance.now() - t0);
        }
        rows += BATCH;
      } catch (e) {
        errors++;
        if (errors < 5) console.error((e as Error).message);
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: Number(args.concurrency) }, (_, i) => worker(i)));
  const secs = (performance.now() - started) / 1000;
  const reqs = lat.events.length + lat.commits.length;
  console.log(
    `activity ingest: ${args.concurrency} senders, batches of ${BATCH}, ${secs.toFixed(1)} s`,
  );
  console.log(
    `  requests/s ${fmt(reqs / secs)}   rows/s ${fmt(rows / secs)}   errors ${errors}   duplicate commits ignored ${dupes}`,
  );
  for (const [k, xs] of Object.entries(lat)) {
    console.log(
      `  ${k.padEnd(8)} n=${String(xs.length).padStart(6)}  p50 ${fmt(pct(xs, 50))} ms  p99 ${fmt(pct(xs, 99))} ms  max ${fmt(Math.max(...xs))} ms`,
    );
  }
  for (const path of [
    '/activity/tasks?limit=500',
    '/activity/velocity?days=30',
    '/activity/stats?days=7',
  ]) {
    const t0 = performance.now();
    await call('GET', path, token);
    console.log(`  GET ${path.padEnd(28)} ${fmt(performance.now() - t0)} ms`);
  }
  if (errors) process.exit(1);
}

main().catch((e: unknown) => {
  console.error(`bench: ${(e as Error).message}`);
  process.exit(1);
});
