import { randomBytes } from 'node:crypto';
import type { RedisClientType } from 'redis';
import type { ResyncEvent, SequencedEventName } from '@agent-monitor/contracts';

/** One sequenced event as kept for replay. */
export interface LoggedEvent {
  seq: number;
  /** The numbering the sequence belongs to (see `Sequenced` in the contracts). */
  epoch: string;
  event: SequencedEventName;
  payload: Record<string, unknown>;
  /** Set for events sent only to one agent's room. */
  agentId?: string;
}

export type ReplayResult =
  | { epoch: string; currentSeq: number; events: LoggedEvent[] }
  | { epoch: string; currentSeq: number; resync: ResyncEvent['reason'] };

export const REPLAY_CAPACITY = 2_000;

/** A fresh epoch id: 12 URL-safe characters, unique enough to never repeat. */
export const newEpoch = (): string => randomBytes(9).toString('base64url');

/** What a client that last saw `{clientEpoch, lastSeq}` missed, or why it must resync. */
function replayFrom(
  all: LoggedEvent[],
  epoch: string,
  currentSeq: number,
  clientEpoch: string,
  lastSeq: number,
): ReplayResult {
  if (clientEpoch !== epoch) return { epoch, currentSeq, resync: 'epoch_changed' };
  if (lastSeq > currentSeq) return { epoch, currentSeq, resync: 'unknown_sequence' };
  if (lastSeq === currentSeq) return { epoch, currentSeq, events: [] };
  const oldest = all[0]?.seq ?? currentSeq + 1;
  if (oldest > lastSeq + 1) return { epoch, currentSeq, resync: 'gap_too_large' };
  return { epoch, currentSeq, events: all.filter((e) => e.seq > lastSeq) };
}

/**
 * One instance's own numbering (no REDIS_URL, or while Redis is unreachable): a new epoch per
 * log, numbers from 1, the last `capacity` events kept for replay. Synchronous.
 */
export class MemoryEventLog {
  readonly epoch = newEpoch();
  private seq = 0;
  private readonly buf: LoggedEvent[] = [];

  constructor(private readonly capacity = REPLAY_CAPACITY) {}

  append(e: Omit<LoggedEvent, 'seq' | 'epoch'>): LoggedEvent {
    const logged = { ...e, seq: ++this.seq, epoch: this.epoch };
    this.buf.push(logged);
    if (this.buf.length > this.capacity) this.buf.splice(0, this.buf.length - this.capacity);
    return logged;
  }

  since(clientEpoch: string, lastSeq: number): ReplayResult {
    return replayFrom(this.buf, this.epoch, this.seq, clientEpoch, lastSeq);
  }

  get current(): number {
    return this.seq;
  }
}

// Keys: 1 = seq counter, 2 = capped list of the current epoch's events, 3 = epoch id.
// Number the event and append it atomically, so the list stays in order. A missing epoch
// (fresh or emptied Redis) is created from ARGV[3] with an empty list.
const APPEND_SCRIPT = `
local ep = redis.call('GET', KEYS[3])
if not ep then
  ep = ARGV[3]
  redis.call('SET', KEYS[3], ep)
  redis.call('DEL', KEYS[2])
end
local seq = redis.call('INCR', KEYS[1])
local entry = string.gsub(ARGV[1], '"seq":0', '"seq":' .. seq, 1)
redis.call('RPUSH', KEYS[2], entry)
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
return {seq, ep}`;

// Start a new epoch: nothing numbered before it is replayable any more.
const ROTATE_SCRIPT = `
redis.call('SET', KEYS[3], ARGV[1])
redis.call('DEL', KEYS[2])
return {tonumber(redis.call('GET', KEYS[1]) or '0'), ARGV[1]}`;

// Epoch, counter and list read together (a rotation cannot fall between them).
const SINCE_SCRIPT = `
return {redis.call('GET', KEYS[3]) or '', redis.call('GET', KEYS[1]) or '0', redis.call('LRANGE', KEYS[2], 0, -1)}`;

interface Script {
  body: string;
  sha: string | null;
}

/**
 * The numbering shared by all instances: counter, epoch and capped list in Redis, each append
 * one Lua call (EVALSHA once loaded), so a client may resume on another instance than the one
 * it lost.
 */
export class RedisEventLog {
  private readonly scripts = {
    append: { body: APPEND_SCRIPT, sha: null } as Script,
    rotate: { body: ROTATE_SCRIPT, sha: null } as Script,
    since: { body: SINCE_SCRIPT, sha: null } as Script,
  };
  private readonly keys: string[];
  /** Candidate ids for a missing epoch: unique per call without a random draw per event. */
  private readonly candidatePrefix = newEpoch().slice(0, 8);
  private candidates = 0;

  constructor(
    private readonly redis: RedisClientType,
    prefix = 'am:rt:',
    private readonly capacity = REPLAY_CAPACITY,
  ) {
    this.keys = [prefix + 'seq', prefix + 'log', prefix + 'epoch'];
  }

  /** SCRIPT LOAD all scripts (after every (re)connect: a restarted Redis forgot them). */
  async load(): Promise<void> {
    for (const s of Object.values(this.scripts)) s.sha = await this.redis.scriptLoad(s.body);
  }

  private async run(s: Script, args: string[]): Promise<unknown> {
    const opts = { keys: this.keys, arguments: args };
    if (s.sha) {
      try {
        return await this.redis.evalSha(s.sha, opts);
      } catch (e) {
        if (!String(e).includes('NOSCRIPT')) throw e;
      }
    }
    return this.redis.eval(s.body, opts);
  }

  async append(e: Omit<LoggedEvent, 'seq' | 'epoch'>): Promise<LoggedEvent> {
    // `seq` first so the script can fill it in without parsing JSON.
    const json = JSON.stringify({ seq: 0, ...e });
    const [seq, epoch] = (await this.run(this.scripts.append, [
      json,
      String(this.capacity),
      this.candidatePrefix + (this.candidates++).toString(36),
    ])) as [number, string];
    return { ...e, seq: Number(seq), epoch };
  }

  /** Starts a new epoch (see ROTATE_SCRIPT); answers where it starts. */
  async rotate(): Promise<{ epoch: string; seq: number }> {
    const [seq, epoch] = (await this.run(this.scripts.rotate, [newEpoch()])) as [number, string];
    return { epoch, seq: Number(seq) };
  }

  async since(clientEpoch: string, lastSeq: number): Promise<ReplayResult> {
    const [epoch, cur, raw] = (await this.run(this.scripts.since, [])) as [
      string,
      string,
      string[],
    ];
    const all = raw.map((s) => ({ ...(JSON.parse(s) as Omit<LoggedEvent, 'epoch'>), epoch }));
    return replayFrom(all, epoch, Number(cur), clientEpoch, lastSeq);
  }
}
