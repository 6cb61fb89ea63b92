import { useEffect, useRef } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import type { AgentStatusChangedEvent } from '@agent-monitor/contracts';
import { agentsKeys, applyStatusChanges } from '../../api/agents.queries';
import { useSocketEvent } from '../../api/socket';

const FLUSH_MS = 250;
const REFETCH_MS = 3_000;

/**
 * Keeps cached agent lists and details live: status events are collected and applied to the
 * cache in batches (FLUSH_MS), so a burst of thousands of changes costs a few renders. Lists are
 * refetched (at most every REFETCH_MS) after changes, because a changed status can move an
 * agent in or out of a filtered page.
 */
export function useLiveAgentStatus(): void {
  const qc = useQueryClient();
  const pending = useRef<AgentStatusChangedEvent[]>([]);
  const refetchAt = useRef<number | null>(null);

  useSocketEvent('agent_status_changed', (e) => {
    pending.current.push(e);
  });

  useEffect(() => {
    const timer = setInterval(() => {
      const batch = pending.current;
      if (batch.length) {
        pending.current = [];
        applyStatusChanges(qc, batch);
        refetchAt.current ??= Date.now() + REFETCH_MS;
      }
      if (refetchAt.current !== null && Date.now() >= refetchAt.current) {
        refetchAt.current = null;
        void qc.invalidateQueries({ queryKey: agentsKeys.lists() });
      }
    }, FLUSH_MS);
    return () => clearInterval(timer);
  }, [qc]);
}
