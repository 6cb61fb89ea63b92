import type {
  AgentConfig,
  HeartbeatRequest,
  HeartbeatResponse,
  RegisterAgentRequest,
  RegisterAgentResponse,
} from '@agent-monitor/contracts';
import { AgentApiError, postJson, type FetchLike } from './errors.js';

export interface AgentClientOptions {
  /** Where the API is, e.g. `http://localhost:3000` (no `/api/v2`). */
  baseUrl: string;
  /** A key with scope `agents:register` (or admin); needed to register. */
  registrationKey?: string;
  /** What to register as. Registration is idempotent per name + host. */
  agent: RegisterAgentRequest;
  /** Called when the server has a config version this agent has not applied yet. */
  onConfig?: (config: AgentConfig, version: number) => void | Promise<void>;
  /** Extra state sent with each heartbeat (status, current task, branch…). */
  state?: () => Omit<HeartbeatRequest, 'appliedConfigVersion'>;
  /** Failures of the loop (it keeps going with backoff). */
  onError?: (err: unknown) => void;
  /** ± fraction of the interval each wait is randomised by, so a fleet does not beat in step. Default 0.1. */
  jitter?: number;
  /** Longest wait between attempts while the server fails. Default 60 s. */
  maxBackoffMs?: number;
  requestTimeoutMs?: number;
  fetch?: FetchLike;
}

/**
 * A small client for agents: register (idempotent), then a heartbeat loop with a jittered
 * interval and exponential backoff while the server fails; config changes arrive with the
 * heartbeat answer and are handed to `onConfig`. `stop()` ends the loop (optionally telling
 * the server the agent is going down).
 */
export class AgentClient {
  private id: string | null = null;
  private key: string | null = null;
  private intervalSec: number;
  private applied = 0;
  private failures = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running = false;
  private inFlight: Promise<unknown> | null = null;
  private readonly fetchFn: FetchLike;

  constructor(private readonly opts: AgentClientOptions) {
    this.fetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
    this.intervalSec = opts.agent.heartbeatIntervalSec ?? 30;
  }

  get agentId(): string | null {
    return this.id;
  }
  get agentKey(): string | null {
    return this.key;
  }
  get appliedConfigVersion(): number {
    return this.applied;
  }
  get heartbeatIntervalSec(): number {
    return this.intervalSec;
  }

  private url(path: string): string {
    return this.opts.baseUrl.replace(/\/+$/, '') + '/api/v2' + path;
  }

  /** Registers (or re-registers: same name + host keeps the id) and applies the config. */
  async register(): Promise<RegisterAgentResponse> {
    if (!this.opts.registrationKey) throw new Error('registrationKey is required to register');
    const r = await postJson<RegisterAgentResponse>(
      this.fetchFn,
      this.url('/agents/register'),
      this.opts.registrationKey,
      this.opts.agent,
      this.opts.requestTimeoutMs ?? 10_000,
    );
    this.id = r.id;
    this.key = r.agentKey;
    this.intervalSec = r.heartbeatIntervalSec;
    if (r.configVersion > this.applied) await this.applyConfig(r.config, r.configVersion);
    return r;
  }

  /** One heartbeat; re-registers once if the key was revoked (401). */
  async heartbeat(
    extra: Omit<HeartbeatRequest, 'appliedConfigVersion'> = {},
  ): Promise<HeartbeatResponse> {
    if (!this.id || !this.key) await this.register();
    const send = () =>
      postJson<HeartbeatResponse>(
        this.fetchFn,
        this.url(`/agents/${this.id}/heartbeat`),
        this.key!,
        { ...this.opts.state?.(), ...extra, appliedConfigVersion: this.applied },
        this.opts.requestTimeoutMs ?? 10_000,
      );
    let r: HeartbeatResponse;
    try {
      r = await send();
    } catch (e) {
      if (!(e instanceof AgentApiError) || (e.status !== 401 && e.status !== 404)) throw e;
      if (!this.opts.registrationKey) throw e;
      await this.register();
      r = await send();
    }
    this.intervalSec = r.heartbeatIntervalSec;
    if (r.config && r.configVersion !== this.applied)
      await this.applyConfig(r.config, r.configVersion);
    return r;
  }

  private async applyConfig(config: AgentConfig, version: number): Promise<void> {
    await this.opts.onConfig?.(config, version);
    this.applied = version;
  }

  /** Registers if needed, then heartbeats until `stop()`. Resolves after the first success. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.track(this.heartbeat());
      this.failures = 0;
    } catch (e) {
      this.failures++;
      this.opts.onError?.(e);
    }
    this.schedule();
  }

  /** Ends the loop; with `finalStatus: 'down'` the server records a deliberate stop, not silence. */
  async stop(opts: { finalStatus?: 'down' } = {}): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.inFlight?.catch(() => undefined);
    if (opts.finalStatus && this.id && this.key) {
      await this.heartbeat({ status: opts.finalStatus }).catch((e: unknown) =>
        this.opts.onError?.(e),
      );
    }
  }

  /** The next wait: the interval ± jitter, or a growing backoff after failures. */
  nextDelayMs(): number {
    const base = this.intervalSec * 1000;
    const jitter = this.opts.jitter ?? 0.1;
    if (this.failures > 0) {
      const backoff = Math.min(
        this.opts.maxBackoffMs ?? 60_000,
        1000 * 2 ** Math.min(this.failures - 1, 16),
      );
      return Math.round(Math.min(backoff, base) * (0.5 + Math.random() * 0.5));
    }
    return Math.round(base * (1 - jitter + Math.random() * 2 * jitter));
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.track(this.heartbeat())
        .then(() => {
          this.failures = 0;
        })
        .catch((e: unknown) => {
          this.failures++;
          this.opts.onError?.(e);
        })
        .finally(() => this.schedule());
    }, this.nextDelayMs());
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight = p;
    return p;
  }
}
