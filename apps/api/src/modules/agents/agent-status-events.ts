import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { AgentStatus } from '@agent-monitor/contracts';
import { InternalEvent, type InternalEventPayloads } from '../../common/events.js';
import { RealtimePublisher } from '../../common/realtime-publisher.js';

export type StatusChangeReason =
  InternalEventPayloads[typeof InternalEvent.AgentStatusChanged]['reason'];

export interface StatusChange {
  agentId: string;
  name: string;
  previousStatus: AgentStatus | null;
  status: AgentStatus;
  at: Date;
  reason: StatusChangeReason;
}

/**
 * Announces committed status changes exactly once: on the internal bus (alerts, fleet) and to
 * dashboards. Called by whoever made the change (the heartbeat's instance, or the one sweeper
 * leader), after the change and its history row were committed.
 */
@Injectable()
export class AgentStatusEvents {
  constructor(
    private readonly events: EventEmitter2,
    private readonly realtime: RealtimePublisher,
  ) {}

  announce(changes: StatusChange[]): void {
    for (const c of changes) {
      this.events.emit(InternalEvent.AgentStatusChanged, {
        agentId: c.agentId,
        name: c.name,
        previousStatus: c.previousStatus,
        status: c.status,
        at: c.at,
        reason: c.reason,
      } satisfies InternalEventPayloads[typeof InternalEvent.AgentStatusChanged]);
      this.realtime.publish('agent_status_changed', {
        agentId: c.agentId,
        name: c.name,
        previousStatus: c.previousStatus,
        status: c.status,
        at: c.at.toISOString(),
        reason: c.reason,
      });
    }
  }
}
