import type { ServerToClientEvents, SequencedEventName } from '@agent-monitor/contracts';

export type EventPayload<E extends SequencedEventName> = Omit<
  Parameters<ServerToClientEvents[E]>[0],
  'seq' | 'epoch'
>;

export interface PublishOptions {
  /** Only sockets that joined this agent's room (e.g. `new_metrics_data`). */
  agentId?: string;
}

/**
 * How any domain sends a live event to dashboards. The realtime module implements it
 * (sequence numbers, replay buffer, Redis fan-out) and provides it globally under this
 * class as the injection token.
 */
export abstract class RealtimePublisher {
  abstract publish<E extends SequencedEventName>(
    event: E,
    payload: EventPayload<E>,
    opts?: PublishOptions,
  ): void;
}
