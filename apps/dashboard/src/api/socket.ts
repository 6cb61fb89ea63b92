import { useEffect, useRef, useSyncExternalStore } from 'react';
import { io, type Socket } from 'socket.io-client';
import {
  DASHBOARD_NAMESPACE,
  type ClientToServerEvents,
  type ServerToClientEvents,
} from '@agent-monitor/contracts';
import { endSession, refreshSession } from './client';
import { session } from './session';
import { queryClient } from './query-client';

export type DashboardSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting';
type EventName = keyof ServerToClientEvents;
type AnyHandler = (payload: unknown) => void;

let socket: DashboardSocket | null = null;
let state: ConnectionState = 'idle';
/** The newest position seen (`epoch` + highest `seq` in it); null until the first event. */
let position: { epoch: string; seq: number } | null = null;
/** Sequences already dispatched in `position.epoch` (a replay may overlap live delivery). */
const recentSeqs = new Set<number>();
const RECENT_MAX = 4096;
let everConnected = false;
let refreshingForSocket = false;
let handshakeRefreshes = 0;
let retryTimer: ReturnType<typeof setTimeout> | undefined;
const stateListeners = new Set<() => void>();
const handlers = new Map<EventName, Set<AnyHandler>>();
/** Agent rooms joined by mounted components, with how many want each (re-joined on reconnect). */
const agentRooms = new Map<string, number>();

function setState(s: ConnectionState): void {
  if (state === s) return;
  state = s;
  for (const l of [...stateListeners]) l();
}

/** The handshake was refused for the token (expired, revoked), not for the origin. */
function isTokenProblem(err: Error & { data?: unknown }): boolean {
  const code = (err.data as { code?: unknown } | undefined)?.code;
  if (code === 'FORBIDDEN') return false;
  return code === 'UNAUTHENTICATED' || /expired|token|jwt|unauthori[sz]ed/i.test(err.message);
}

/**
 * Something may have been missed that cannot be replayed: refetch everything and continue
 * from `epoch`/`seq`.
 */
function resyncFrom(epoch: string, seq: number): void {
  if (position?.epoch !== epoch) {
    recentSeqs.clear();
    position = { epoch, seq };
  } else if (seq > position.seq) {
    position.seq = seq;
  }
  void queryClient.invalidateQueries();
}

/** Tracks the position of a sequenced event; false for a duplicate (already dispatched). */
function track(epoch: string, seq: number): boolean {
  if (position && position.epoch !== epoch) {
    // The numbering changed under a live connection (an instance lost or regained Redis):
    // events may have been missed in between, and the old position means nothing any more.
    resyncFrom(epoch, seq);
  } else if (!position) {
    position = { epoch, seq };
  } else {
    if (recentSeqs.has(seq)) return false;
    if (seq > position.seq) position.seq = seq;
  }
  recentSeqs.add(seq);
  if (recentSeqs.size > RECENT_MAX) {
    recentSeqs.delete(recentSeqs.values().next().value as number);
  }
  return true;
}

function dispatch(event: EventName, payload: unknown): void {
  const set = handlers.get(event);
  if (set) for (const h of [...set]) h(payload);
}

/**
 * Open the live connection (after login). The handshake `auth` is a callback, so every
 * (re)connection attempt sends the current access token. A refused handshake because the token
 * expired refreshes the session once and connects again.
 */
export function connectSocket(): void {
  if (socket) return;
  setState('connecting');
  const s: DashboardSocket = io(DASHBOARD_NAMESPACE, {
    auth: (cb) => cb({ token: session.getAccessToken() ?? '' }),
    transports: ['websocket'],
    reconnectionDelay: 500,
    reconnectionDelayMax: 10_000,
  });
  socket = s;

  s.on('connect', () => {
    setState('connected');
    handshakeRefreshes = 0;
    // Rooms do not survive a reconnect: join again first, so `resume` replays their events too.
    for (const agentId of agentRooms.keys()) s.emit('join_agent', { agentId });
    if (everConnected) {
      const pos = position;
      if (pos) {
        // Ask for what we missed; the server replays it or answers `resync`.
        s.emit('resume', { epoch: pos.epoch, lastSeq: pos.seq }, (ack) => {
          if (!ack.ok) void queryClient.invalidateQueries();
        });
      } else {
        // Disconnected before any event: no position to resume from, refetch instead.
        void queryClient.invalidateQueries();
      }
    }
    everConnected = true;
  });
  s.on('disconnect', (reason) => {
    // A server-side disconnect (kicked, session ended) does not auto-reconnect in socket.io.
    if (reason === 'io server disconnect' && session.getAccessToken()) {
      setState('reconnecting');
      s.connect();
    } else {
      setState(s.active ? 'reconnecting' : 'idle');
    }
  });
  s.on('connect_error', (err) => {
    setState('reconnecting');
    // Transport failures (server down, network): socket.io retries with backoff by itself.
    if (s.active || refreshingForSocket) return;
    // The server refused the handshake and socket.io stopped. An expired token gets one
    // refresh (twice at most in a row, so a server that keeps refusing cannot loop us);
    // anything else is retried later.
    if (!isTokenProblem(err) || handshakeRefreshes >= 2) {
      clearTimeout(retryTimer);
      retryTimer = setTimeout(() => socket === s && s.connect(), 15_000);
      return;
    }
    handshakeRefreshes += 1;
    refreshingForSocket = true;
    refreshSession()
      .then((ok) => {
        if (ok && socket === s) s.connect();
        else if (!ok) endSession();
      })
      .catch(() => {
        if (socket === s) retryTimer = setTimeout(() => socket === s && s.connect(), 2_000);
      })
      .finally(() => {
        refreshingForSocket = false;
      });
  });

  s.onAny((event: string, payload: unknown) => {
    const p = payload as { seq?: unknown; epoch?: unknown } | null;
    if (typeof p?.seq === 'number' && typeof p.epoch === 'string' && !track(p.epoch, p.seq)) {
      return;
    }
    dispatch(event as EventName, payload);
  });
  s.on('resync', (e) => {
    // Missed events cannot be replayed (too many, or another epoch): refetch everything.
    resyncFrom(e.epoch, e.currentSeq);
  });
  s.on('session_changed', (e) => {
    // Role changes refetch the profile (the auth context reacts); a revoked session logs out.
    if (e.reason === 'role_changed') void queryClient.invalidateQueries({ queryKey: ['profile'] });
    else endSession();
  });
}

/** Close the connection and forget the position (logout). */
export function disconnectSocket(): void {
  const s = socket;
  socket = null;
  position = null;
  recentSeqs.clear();
  everConnected = false;
  handshakeRefreshes = 0;
  clearTimeout(retryTimer);
  if (s) {
    s.removeAllListeners();
    s.offAny();
    s.disconnect();
  }
  setState('idle');
}

export function getSocket(): DashboardSocket | null {
  return socket;
}

/** The newest position seen so far (what `resume` sends after a reconnect). */
export function getPosition(): { epoch: string; seq: number } | null {
  return position && { ...position };
}

function subscribeState(l: () => void): () => void {
  stateListeners.add(l);
  return () => stateListeners.delete(l);
}

/** The live connection's state, for the indicator in the top bar. */
export function useConnectionState(): ConnectionState {
  return useSyncExternalStore(
    subscribeState,
    () => state,
    () => 'idle',
  );
}

/**
 * Receive the per-agent events (`new_metrics_data`, …) of `agentId` while mounted. Several
 * components may ask for the same agent; the room is left when the last one unmounts.
 */
export function useAgentRoom(agentId: string | null | undefined): void {
  useEffect(() => {
    if (!agentId) return;
    const n = agentRooms.get(agentId) ?? 0;
    agentRooms.set(agentId, n + 1);
    if (n === 0 && socket?.connected) socket.emit('join_agent', { agentId });
    return () => {
      const left = (agentRooms.get(agentId) ?? 1) - 1;
      if (left > 0) {
        agentRooms.set(agentId, left);
        return;
      }
      agentRooms.delete(agentId);
      if (socket?.connected) socket.emit('leave_agent', { agentId });
    };
  }, [agentId]);
}

/**
 * Run `handler` for every `event` while the component is mounted. The latest handler is
 * always called (no need to memoise it). Typical use: patch the react-query cache.
 *
 *   useSocketEvent('agent_status_changed', (e) => queryClient.invalidateQueries({ queryKey: agentsKeys.detail(e.agentId) }));
 */
export function useSocketEvent<E extends EventName>(
  event: E,
  handler: ServerToClientEvents[E],
): void {
  const ref = useRef(handler);
  useEffect(() => {
    ref.current = handler;
  });
  useEffect(() => {
    const h: AnyHandler = (payload) => (ref.current as (p: unknown) => void)(payload);
    let set = handlers.get(event);
    if (!set) handlers.set(event, (set = new Set()));
    set.add(h);
    return () => {
      set.delete(h);
    };
  }, [event]);
}
