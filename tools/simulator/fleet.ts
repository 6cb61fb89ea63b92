import { AgentClient } from '../../libs/agent-sdk/src/index.js';
import type { AgentActivityState, HeartbeatRequest } from '../../libs/contracts/src/index.js';

/** The seed's kinds of agent, with what their names and tags look like. */
export const KINDS = [
  { type: 'web_server', prefix: 'web', env: 'production', tags: { tier: 'frontend' } },
  { type: 'db_monitor', prefix: 'db-mon', env: 'production', tags: { tier: 'data' } },
  { type: 'api_gateway', prefix: 'gateway', env: 'production', tags: { tier: 'edge' } },
  { type: 'cache_monitor', prefix: 'cache-mon', env: 'staging', tags: { tier: 'data' } },
  { type: 'security_scanner', prefix: 'sec-scan', env: 'production', tags: { tier: 'security' } },
  { type: 'log_processor', prefix: 'log-proc', env: 'staging', tags: { tier: 'pipeline' } },
  { type: 'llm_agent', prefix: 'llm', env: 'development', tags: { tier: 'ai', model: 'gpt-4' } },
  { type: 'ml_agent', prefix: 'ml', env: 'development', tags: { tier: 'ai', model: 'resnet' } },
] as const;

const TASKS = [
  'refactor auth module',
  'write unit tests',
  'fix flaky build',
  'review PR #42',
  'update docs',
];
const BRANCHES = ['main', 'feat/login', 'fix/race', 'chore/deps'];
const STATES: AgentActivityState[] = ['active', 'idle', 'busy', 'active', 'busy'];

export type Behaviour = 'steady' | 'flapping' | 'erroring';

export interface SimulatedAgent {
  name: string;
  type: string;
  behaviour: Behaviour;
  client: AgentClient;
  /** While true the agent sends nothing (it looks dead to the server). */
  silent: boolean;
}

export interface FleetOptions {
  url: string;
  registrationKey: string;
  count: number;
  intervalSec: number;
  /** Fraction of agents that go silent now and then (default 0.15). */
  flapping: number;
  host?: string;
  log?: (line: string) => void;
}

const pick = <T>(xs: readonly T[]) => xs[Math.floor(Math.random() * xs.length)];

/** Builds (not starts) N agents cycling through the seed kinds. */
export function buildFleet(o: FleetOptions): SimulatedAgent[] {
  const out: SimulatedAgent[] = [];
  for (let i = 0; i < o.count; i++) {
    const kind = KINDS[i % KINDS.length];
    const n = Math.floor(i / KINDS.length) + 1;
    const name = `${kind.prefix}-${String(n).padStart(2, '0')}`;
    const behaviour: Behaviour =
      i % Math.max(1, Math.round(1 / Math.max(o.flapping, 0.01))) === 3
        ? 'flapping'
        : i % 11 === 7
          ? 'erroring'
          : 'steady';
    const coding = kind.type === 'llm_agent';
    const sim: SimulatedAgent = {
      name,
      type: kind.type,
      behaviour,
      silent: false,
      client: new AgentClient({
        baseUrl: o.url,
        registrationKey: o.registrationKey,
        agent: {
          name,
          type: kind.type,
          host: o.host ?? `${kind.prefix}-${n}.sim.local`,
          port: 8000 + i,
          environment: kind.env,
          version: '1.4.2',
          heartbeatIntervalSec: o.intervalSec,
          metadata: { simulated: true, region: pick(['eu-west-1', 'us-east-1', 'ap-south-1']) },
          tags: { ...kind.tags, team: pick(['core', 'platform', 'data']) },
        },
        state: (): HeartbeatRequest => {
          const erroring = behaviour === 'erroring' && Math.random() < 0.3;
          return {
            status: erroring ? 'error' : pick(STATES),
            uptimeSec: Math.round(process.uptime()),
            ...(coding
              ? {
                  currentTask: pick(TASKS),
                  branch: pick(BRANCHES),
                  uncommittedChanges: Math.floor(Math.random() * 12),
                }
              : {}),
          };
        },
        onConfig: (config, version) =>
          o.log?.(`${name}: applied config v${version} ${JSON.stringify(config)}`),
        onError: (e) => o.log?.(`${name}: ${(e as Error).message}`),
      }),
    };
    out.push(sim);
  }
  return out;
}

/**
 * Flapping agents go silent for 3–8 intervals (long enough to turn stale, often offline) and
 * come back; returns a stop function.
 */
export function startFlapping(
  fleet: SimulatedAgent[],
  intervalSec: number,
  log: (l: string) => void,
) {
  const timers: NodeJS.Timeout[] = [];
  for (const a of fleet.filter((x) => x.behaviour === 'flapping')) {
    const cycle = () => {
      const up = (4 + Math.random() * 8) * intervalSec * 1000;
      timers.push(
        setTimeout(async () => {
          a.silent = true;
          await a.client.stop();
          log(`${a.name}: going silent`);
          const down = (3 + Math.random() * 5) * intervalSec * 1000;
          timers.push(
            setTimeout(async () => {
              a.silent = false;
              await a.client.start();
              log(`${a.name}: back`);
              cycle();
            }, down),
          );
        }, up),
      );
    };
    cycle();
  }
  return () => timers.forEach(clearTimeout);
}
