/**
 * A demo fleet: registers N agents of the seed's kinds against a running Agent Monitor and
 * keeps them heartbeating; some flap (go silent, turn stale/offline, come back), some report
 * errors. Ctrl-C stops them and tells the server they went down.
 *
 *   npm run demo -- --url http://localhost:3000 --email admin@example.com --password '…'
 *   AM_URL=… AM_API_KEY=am_… npm run demo -- --count 100 --interval 5
 */
import { parseArgs } from 'node:util';
import { startCodingActivity } from './coding-activity.js';
import { buildFleet, startFlapping } from './fleet.js';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    key: { type: 'string' },
    email: { type: 'string' },
    password: { type: 'string' },
    count: { type: 'string' },
    interval: { type: 'string' },
    flapping: { type: 'string' },
    quiet: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (args.help) {
  console.log(`Usage: npm run demo -- [--url URL] [--key am_…] [--email E --password P]
                       [--count 24] [--interval 5] [--flapping 0.15] [--quiet]
Env: AM_URL, AM_API_KEY, AM_ADMIN_EMAIL, AM_ADMIN_PASSWORD, AM_AGENTS, AM_INTERVAL.
With email/password the simulator logs in and creates an agents:register key for itself.`);
  process.exit(0);
}

const env = process.env;
const url = (args.url ?? env.AM_URL ?? 'http://localhost:3000').replace(/\/+$/, '');
const count = Number(args.count ?? env.AM_AGENTS ?? 24);
const intervalSec = Number(args.interval ?? env.AM_INTERVAL ?? 5);
const flapping = Number(args.flapping ?? 0.15);
const log = (line: string) => {
  if (!args.quiet) console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
};

async function registrationKey(): Promise<string> {
  const key = args.key ?? env.AM_API_KEY;
  if (key) return key;
  const email = args.email ?? env.AM_ADMIN_EMAIL;
  const password = args.password ?? env.AM_ADMIN_PASSWORD;
  if (!email || !password) {
    throw new Error('Give an API key (--key / AM_API_KEY) or admin --email and --password');
  }
  const login = await fetch(`${url}/api/v2/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (!login.ok) throw new Error(`login failed: HTTP ${login.status} ${await login.text()}`);
  const { accessToken } = (await login.json()) as { accessToken: string };
  const created = await fetch(`${url}/api/v2/api-keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
    body: JSON.stringify({
      name: `simulator ${new Date().toISOString()}`,
      scopes: ['agents:register'],
    }),
  });
  if (!created.ok)
    throw new Error(`creating an API key failed: HTTP ${created.status} ${await created.text()}`);
  const { key: k } = (await created.json()) as { key: string };
  log('created an agents:register API key for the simulator');
  return k;
}

async function main(): Promise<void> {
  if (!Number.isInteger(count) || count < 1 || count > 100_000)
    throw new Error('--count must be 1…100000');
  if (!Number.isInteger(intervalSec) || intervalSec < 1 || intervalSec > 3600)
    throw new Error('--interval must be 1…3600 s');
  const key = await registrationKey();
  const fleet = buildFleet({ url, registrationKey: key, count, intervalSec, flapping, log });
  let started = 0;
  for (let i = 0; i < fleet.length; i += 50) {
    await Promise.all(
      fleet.slice(i, i + 50).map(async (a) => {
        await a.client.start();
        if (a.client.agentId) started++;
      }),
    );
  }
  if (!started) throw new Error(`no agent could register at ${url}`);
  const kinds = new Map<string, number>();
  for (const a of fleet) kinds.set(a.type, (kinds.get(a.type) ?? 0) + 1);
  console.log(
    `Simulating ${started} agents against ${url} (heartbeat every ${intervalSec}s): ` +
      [...kinds].map(([k, n]) => `${n} ${k}`).join(', '),
  );
  console.log(
    `Flapping: ${
      fleet
        .filter((a) => a.behaviour === 'flapping')
        .map((a) => a.name)
        .join(', ') || 'none'
    }; ` +
      `reporting errors: ${
        fleet
          .filter((a) => a.behaviour === 'erroring')
          .map((a) => a.name)
          .join(', ') || 'none'
      }. Ctrl-C to stop.`,
  );
  const stopFlapping = startFlapping(fleet, intervalSec, log);
  const stopCoding = startCodingActivity(fleet, url, Math.max(1000, intervalSec * 1000), log);
  const shutdown = async () => {
    stopFlapping();
    stopCoding();
    console.log('stopping: telling the server the agents are going down…');
    await Promise.all(
      fleet.filter((a) => !a.silent).map((a) => a.client.stop({ finalStatus: 'down' })),
    );
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
}

main().catch((e: unknown) => {
  console.error(`simulator: ${(e as Error).message}`);
  process.exit(1);
});
