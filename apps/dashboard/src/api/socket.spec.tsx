import { afterEach, beforeEach, expect, jest, test } from '@jest/globals';
import { act, renderHook } from '@testing-library/react';

/**
 * The socket client against a scripted stand-in for socket.io-client's Socket: the tests drive
 * connects, events and refusals and check what the client sends back and does to the cache.
 */
type Listener = (...args: unknown[]) => void;

class FakeSocket {
  listeners = new Map<string, Listener[]>();
  anyListeners: Listener[] = [];
  emitted: [string, unknown][] = [];
  acks: ((a: unknown) => void)[] = [];
  active = true;
  connected = false;
  connectCalls = 0;
  constructor(readonly opts: { auth: (cb: (d: unknown) => void) => void }) {}
  on(ev: string, l: Listener) {
    this.listeners.set(ev, [...(this.listeners.get(ev) ?? []), l]);
    return this;
  }
  onAny(l: Listener) {
    this.anyListeners.push(l);
    return this;
  }
  offAny() {
    this.anyListeners = [];
    return this;
  }
  removeAllListeners() {
    this.listeners.clear();
    return this;
  }
  emit(ev: string, payload: unknown, ack?: (a: unknown) => void) {
    this.emitted.push([ev, payload]);
    if (ack) this.acks.push(ack);
    return this;
  }
  connect() {
    this.connectCalls += 1;
    return this;
  }
  disconnect() {
    this.connected = false;
    return this;
  }
  /** What the server would do: fire a built-in or a server event at the client. */
  fire(ev: string, ...args: unknown[]) {
    if (ev === 'connect') this.connected = true;
    if (!['connect', 'disconnect', 'connect_error'].includes(ev)) {
      for (const l of this.anyListeners) l(ev, ...args);
    }
    for (const l of this.listeners.get(ev) ?? []) l(...args);
  }
  handshakeAuth(): unknown {
    let out: unknown;
    this.opts.auth((d) => (out = d));
    return out;
  }
}

let sockets: FakeSocket[] = [];
const refreshSession = jest.fn<() => Promise<boolean>>();
const endSession = jest.fn();
const invalidateQueries = jest.fn<(arg?: unknown) => Promise<void>>();

jest.unstable_mockModule('socket.io-client', () => ({
  io: (_ns: string, opts: ConstructorParameters<typeof FakeSocket>[0]) => {
    const s = new FakeSocket(opts);
    sockets.push(s);
    return s;
  },
}));
jest.unstable_mockModule('./client', () => ({ refreshSession, endSession }));
jest.unstable_mockModule('./query-client', () => ({ queryClient: { invalidateQueries } }));

const { session } = await import('./session');
const socketMod = await import('./socket');
const { connectSocket, disconnectSocket, getPosition, useSocketEvent, useAgentRoom } = socketMod;

const last = () => sockets[sockets.length - 1]!;

beforeEach(() => {
  sockets = [];
  refreshSession.mockReset();
  endSession.mockReset();
  invalidateQueries.mockReset();
  invalidateQueries.mockResolvedValue(undefined);
  session.setTokens('access-1', 'refresh-1');
});

afterEach(() => {
  disconnectSocket();
  session.clear();
});

test('connects once with the current access token, read again on every attempt', () => {
  connectSocket();
  connectSocket();
  expect(sockets).toHaveLength(1);
  expect(last().handshakeAuth()).toEqual({ token: 'access-1' });
  session.setTokens('access-2', 'refresh-2');
  expect(last().handshakeAuth()).toEqual({ token: 'access-2' });
});

test('tracks the newest {epoch, seq}, and after a reconnect re-joins rooms then resumes from it', () => {
  connectSocket();
  const s = last();
  s.fire('connect');
  const { unmount } = renderHook(() => useAgentRoom('agent-1'));
  expect(s.emitted).toEqual([['join_agent', { agentId: 'agent-1' }]]);

  s.fire('agent_status_changed', { seq: 5, epoch: 'E1', agentId: 'a' });
  s.fire('new_metrics_data', { seq: 7, epoch: 'E1', agentId: 'agent-1', values: {} });
  s.fire('alert_triggered', { seq: 6, epoch: 'E1' });
  expect(getPosition()).toEqual({ epoch: 'E1', seq: 7 });
  // First connection: nothing to resume.
  expect(s.emitted.filter(([e]) => e === 'resume')).toEqual([]);

  s.emitted = [];
  s.fire('disconnect', 'transport close');
  s.fire('connect');
  expect(s.emitted).toEqual([
    ['join_agent', { agentId: 'agent-1' }],
    ['resume', { epoch: 'E1', lastSeq: 7 }],
  ]);
  // A resume the server could not serve refetches instead.
  s.acks[0]!({ ok: true, replayed: 0 });
  expect(invalidateQueries).not.toHaveBeenCalled();
  s.acks[0]!({ ok: false, error: 'resume failed' });
  expect(invalidateQueries).toHaveBeenCalledWith();

  unmount();
  expect(s.emitted[s.emitted.length - 1]).toEqual(['leave_agent', { agentId: 'agent-1' }]);
});

test('resync invalidates every query and continues from the server position', () => {
  connectSocket();
  const s = last();
  s.fire('connect');
  s.fire('agent_status_changed', { seq: 50, epoch: 'E1' });
  s.fire('resync', { reason: 'epoch_changed', epoch: 'E2', currentSeq: 3 });
  expect(invalidateQueries).toHaveBeenCalledWith();
  expect(getPosition()).toEqual({ epoch: 'E2', seq: 3 });
});

test('an epoch change in the live stream refetches; a replayed duplicate is dropped', () => {
  connectSocket();
  const s = last();
  const seen: number[] = [];
  renderHook(() => useSocketEvent('alert_triggered', (e) => seen.push(e.seq)));
  s.fire('connect');
  act(() => s.fire('alert_triggered', { seq: 10, epoch: 'E1' }));
  act(() => s.fire('alert_triggered', { seq: 12, epoch: 'E1' }));
  act(() => s.fire('alert_triggered', { seq: 11, epoch: 'E1' })); // other instance, later
  act(() => s.fire('alert_triggered', { seq: 12, epoch: 'E1' })); // replay overlapping live
  expect(seen).toEqual([10, 12, 11]);
  expect(invalidateQueries).not.toHaveBeenCalled();
  // Numbered elsewhere now (an instance lost Redis): the same numbers are new events.
  act(() => s.fire('alert_triggered', { seq: 1, epoch: 'L1' }));
  act(() => s.fire('alert_triggered', { seq: 12, epoch: 'L1' }));
  expect(seen).toEqual([10, 12, 11, 1, 12]);
  expect(invalidateQueries).toHaveBeenCalledTimes(1);
  expect(getPosition()).toEqual({ epoch: 'L1', seq: 12 });
});

test('a reconnect before any event refetches (no position to resume from)', () => {
  connectSocket();
  const s = last();
  s.fire('connect');
  s.fire('disconnect', 'transport close');
  s.fire('connect');
  expect(s.emitted.filter(([e]) => e === 'resume')).toEqual([]);
  expect(invalidateQueries).toHaveBeenCalledWith();
});

test('useSocketEvent delivers events to the latest handler until unmounted', () => {
  connectSocket();
  const s = last();
  const seen: string[] = [];
  const { rerender, unmount } = renderHook(
    ({ tag }: { tag: string }) =>
      useSocketEvent('agent_status_changed', (e) => seen.push(`${tag}:${e.agentId}`)),
    { initialProps: { tag: 'v1' } },
  );
  act(() => s.fire('agent_status_changed', { seq: 1, epoch: 'E', agentId: 'a' }));
  rerender({ tag: 'v2' });
  act(() => s.fire('agent_status_changed', { seq: 2, epoch: 'E', agentId: 'b' }));
  act(() => s.fire('alert_triggered', { seq: 3, epoch: 'E', alertId: 'x' }));
  unmount();
  act(() => s.fire('agent_status_changed', { seq: 4, epoch: 'E', agentId: 'c' }));
  expect(seen).toEqual(['v1:a', 'v2:b']);
});

test('a handshake refused for the token refreshes the session and connects again', async () => {
  connectSocket();
  const s = last();
  s.active = false; // socket.io does not retry a middleware refusal by itself
  refreshSession.mockResolvedValue(true);
  const err = Object.assign(new Error('Token expired'), { data: { code: 'UNAUTHENTICATED' } });
  s.fire('connect_error', err);
  await act(async () => {
    await Promise.resolve();
  });
  expect(refreshSession).toHaveBeenCalledTimes(1);
  expect(s.connectCalls).toBe(1);
  expect(endSession).not.toHaveBeenCalled();
});

test('a server that keeps refusing fresh tokens is not hammered: two refreshes, then a timed retry', async () => {
  jest.useFakeTimers();
  try {
    connectSocket();
    const s = last();
    s.active = false;
    refreshSession.mockResolvedValue(true);
    const refuse = () =>
      s.fire(
        'connect_error',
        Object.assign(new Error('Token expired'), { data: { code: 'UNAUTHENTICATED' } }),
      );
    for (let i = 0; i < 4; i++) {
      refuse();
      await act(async () => {
        await Promise.resolve();
      });
    }
    expect(refreshSession).toHaveBeenCalledTimes(2);
    expect(s.connectCalls).toBe(2);
    jest.advanceTimersByTime(15_000);
    expect(s.connectCalls).toBe(3);
  } finally {
    jest.useRealTimers();
  }
});

test('if that refresh fails the session ends; an origin refusal does not refresh at all', async () => {
  connectSocket();
  const s = last();
  s.active = false;
  s.fire(
    'connect_error',
    Object.assign(new Error('Origin not allowed'), { data: { code: 'FORBIDDEN' } }),
  );
  expect(refreshSession).not.toHaveBeenCalled();

  refreshSession.mockResolvedValue(false);
  s.fire(
    'connect_error',
    Object.assign(new Error('Token expired'), { data: { code: 'UNAUTHENTICATED' } }),
  );
  await act(async () => {
    await Promise.resolve();
  });
  expect(endSession).toHaveBeenCalledTimes(1);
  expect(s.connectCalls).toBe(0);
});

test('session_changed: a role change refetches the profile, a revoked session ends it', () => {
  connectSocket();
  const s = last();
  s.fire('session_changed', { reason: 'role_changed', role: 'viewer' });
  expect(invalidateQueries).toHaveBeenCalledWith({ queryKey: ['profile'] });
  expect(endSession).not.toHaveBeenCalled();
  s.fire('session_changed', { reason: 'disabled' });
  expect(endSession).toHaveBeenCalledTimes(1);
});
