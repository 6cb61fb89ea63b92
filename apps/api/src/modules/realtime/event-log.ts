import type { RedisClientType } from 'redis';
import type { SequencedEventName } from '@agent-monitor/contracts';

/** One sequenced event as kept for replay. */
export interface LoggedEvent {
  seq: number;
  event: SequencedEventName;
  payload: Record<string, unknown>;
  /** Set for events sent only to one agent's room. */
  agentId?: string;
}

export interface ReplayResult {
  currentSeq: number;
  /** Events after `lastSeq`, oldest first; null when the buffer no longer reaches back that far. */
  events: LoggedEvent[] | null;
}

/**
 * Numbers events and keeps the last `capacity` of them for clients that reconnect. In memory
 * for one instance; in Redis (INCR + capped list, one Lua call) when instances share events,
 * so a client may resume on another instance than the one it lost.
 */
export interface EventLog {
  append(e: Omit<LoggedEvent, 'seq'>): Promise<LoggedEvent>;
  since(lastSeq: number): Promise<ReplayResult>;
}

export const REPLAY_CAPACITY = 2_000;

function replayFrom(all: LoggedEvent[], currentSeq: number, lastSeq: number): ReplayResult {
  if (lastSeq >= currentSeq) return { currentSeq, events: [] };
  const oldest = all[0]?.seq ?? currentSeq + 1;
  if (oldest > lastSeq + 1) return { currentSeq, events: null };
  return { currentSeq, events: all.filter((e) => e.seq > lastSeq) };
}

export class MemoryEventLog implements EventLog {
  private seq = 0;
  private readonly buf: LoggedEvent[] = [];

  constructor(private readonly capacity = REPLAY_CAPACITY) {}

  append(e: Omit<LoggedEvent, 'seq'>): Promise<LoggedEvent> {
    const logged = { ...e, seq: ++this.seq };
    this.buf.push(logged);
    if (this.buf.length > this.capacity) this.buf.splice(0, this.buf.length - this.capacity);
    return Promise.resolve(logged);
  }

  since(lastSeq: number): Promise<ReplayResult> {
    return Promise.resolve(replayFrom(this.buf, this.seq, lastSeq));
  }

  get current(): number {
    return this.seq;
  }
}

// Number the event and append it to the capped list atomically, so the list stays in order.
const APPEND_SCRIPT = `
local seq = redis.call('INCR', KEYS[1])
local entry = string.gsub(ARGV[1], '"seq":0', '"seq":' .. seq, 1)
redis.call('RPUSH', KEYS[2], entry)
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
return seq`;

export class RedisEventLog implements EventLog {
  constructor(
    private readonly redis: RedisClientType,
    private readonly prefix = 'am:rt:',
    private readonly capacity = REPLAY_CAPACITY,
  ) {}

  async append(e: Omit<LoggedEvent, 'seq'>): Promise<LoggedEvent> {
    // `seq` first so the script can fill it in without parsing JSON.
    const json = JSON.stringify({ seq: 0, ...e });
    const seq = Number(
      await this.redis.eval(APPEND_SCRIPT, {
        keys: [this.prefix + 'seq', this.prefix + 'log'],
        arguments: [json, String(this.capacity)],
      }),
    );
    return { ...e, seq };
  }

  async since(lastSeq: number): Promise<ReplayResult> {
    const [cur, raw] = await Promise.all([
      this.redis.get(this.prefix + 'seq'),
      this.redis.lRange(this.prefix + 'log', 0, -1),
    ]);
    const all = raw.map((s) => JSON.parse(s) as LoggedEvent);
    return replayFrom(all, Number(cur ?? 0), lastSeq);
  }
}
