import { EventEmitter2 } from '@nestjs/event-emitter';
import { io, type Socket } from 'socket.io-client';
import {
  DASHBOARD_NAMESPACE,
  type Ack,
  type AgentStatusChangedEvent,
  type Epoch,
  type ClientToServerEvents,
  type RegisterAgentResponse,
  type ResyncEvent,
  type ServerToClientEvents,
  type SessionChangedEvent,
} from '@agent-monitor/contracts';
import { InternalEvent } from '../src/common/events.js';
import { createApiKey, createUser, signAccess, sleep, waitFor } from './agents-fixtures.js';
import { client, type Client } from './support/http.js';
import { startTestApp, type TestApp } from './support/test-app.js';

type DashSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

describe('realtime /dashboard socket (single instance, no Redis)', () => {
  let t: TestApp;
  let http: Client;
  let regKey: string;
  const open: DashSocket[] = [];

  beforeAll(async () => {
    t = await startTestApp({ env: { SOCKET_ALLOWED_ORIGINS: 'https://dash.example.com' } });
    http = client(t.baseUrl);
    regKey = await createApiKey(t, ['agents:register']);
  });
  afterAll(async () => {
    for (const s of open) s.disconnect();
    await t.close();
    await t.dropDatabase();
  });

  function connect(opts: { token?: string; origin?: string } = {}): DashSocket {
    const s: DashSocket = io(t.baseUrl + DASHBOARD_NAMESPACE, {
      auth: opts.token ? { token: opts.token } : {},
      extraHeaders: opts.origin ? { origin: opts.origin } : undefined,
      transports: ['polling', 'websocket'],
      reconnection: false,
      forceNew: true,
    });
    open.push(s);
    return s;
  }
  const connected = (s: DashSocket) =>
    new Promise<void>((resolve, reject) => {
      s.once('connect', () => resolve());
      s.once('connect_error', (e) => reject(e));
    });
  const refused = (s: DashSocket) =>
    new Promise<string>((resolve, reject) => {
      s.once('connect', () => reject(new Error('connected but should have been refused')));
      s.once('connect_error', (e) => resolve(e.message));
    });

  async function register(name: string): Promise<RegisterAgentResponse> {
    const r = await http.post<RegisterAgentResponse>(
      '/api/v2/agents/register',
      { name, type: 'ml_agent', host: 'rt.lan', heartbeatIntervalSec: 60 },
      { headers: { authorization: `Bearer ${regKey}` } },
    );
    expect(r.status).toBe(201);
    return r.body;
  }
  const beat = (agent: RegisterAgentResponse, status?: string) =>
    http.post(`/api/v2/agents/${agent.id}/heartbeat`, status ? { status } : {}, {
      headers: { authorization: `Bearer ${agent.agentKey}` },
    });

  it('refuses a handshake without a token, with a reason', async () => {
    expect(await refused(connect())).toMatch(/auth\.token missing/);
  });

  it('refuses an invalid or expired token, with a reason', async () => {
    expect(await refused(connect({ token: 'not-a-jwt' }))).toBe('Invalid access token');
    const u = await createUser(t, 'viewer');
    const expired = signAccess(t, u.userId, u.sessionId, 'viewer', -10);
    expect(await refused(connect({ token: expired }))).toBe('Access token expired');
  });

  it('refuses a foreign Origin; accepts the same origin and SOCKET_ALLOWED_ORIGINS', async () => {
    const u = await createUser(t, 'viewer');
    expect(await refused(connect({ token: u.token, origin: 'https://evil.example' }))).toBe(
      'Origin not allowed',
    );
    const same = connect({ token: u.token, origin: t.baseUrl });
    await connected(same);
    const listed = connect({ token: u.token, origin: 'https://dash.example.com' });
    await connected(listed);
  });

  it('validates join_agent payloads at runtime', async () => {
    const u = await createUser(t, 'viewer');
    const s = connect({ token: u.token });
    await connected(s);
    const bad = await s.emitWithAck('join_agent', { agentId: 'nope' });
    expect(bad).toEqual({ ok: false, error: 'agentId must be a UUID' });
    const extra = await s.emitWithAck('join_agent', {
      agentId: '00000000-0000-4000-8000-000000000000',
      x: 1,
    } as never);
    expect(extra.ok).toBe(false);
    const ok = await s.emitWithAck('join_agent', {
      agentId: '00000000-0000-4000-8000-000000000000',
    });
    expect(ok).toEqual({ ok: true });
  });

  it('a viewer receives agent_status_changed within 1 s, numbered', async () => {
    const u = await createUser(t, 'viewer');
    const s = connect({ token: u.token });
    await connected(s);
    const agent = await register('rt-live');
    // Publishing is pipelined, so the registration's own event may still arrive after
    // register() answered: wait for the change this heartbeat reports.
    const got = new Promise<AgentStatusChangedEvent>((resolve) =>
      s.on(
        'agent_status_changed',
        (e) => e.agentId === agent.id && e.reason === 'reported' && resolve(e),
      ),
    );
    const sentAt = Date.now();
    await beat(agent, 'error');
    const e = await got;
    expect(Date.now() - sentAt).toBeLessThan(1000);
    expect(e).toMatchObject({
      agentId: agent.id,
      name: 'rt-live',
      previousStatus: 'online',
      status: 'error',
      reason: 'reported',
    });
    expect(e.seq).toEqual(expect.any(Number));
  });

  it('a reconnect with resume {epoch, lastSeq} replays exactly the missed events, in order', async () => {
    const u = await createUser(t, 'viewer');
    const agent = await register('rt-resume');
    const first = connect({ token: u.token });
    await connected(first);
    const seen: (AgentStatusChangedEvent & Epoch)[] = [];
    // The registration's own event may arrive late (publishing is pipelined): count changes.
    const mine = (e: AgentStatusChangedEvent) =>
      e.agentId === agent.id && e.reason !== 'registered';
    first.on('agent_status_changed', (e) => mine(e) && seen.push(e));
    await beat(agent, 'error');
    await waitFor(() => seen.length === 1);
    const { epoch, seq: lastSeq } = seen[0];
    expect(epoch).toEqual(expect.any(String));
    first.disconnect();

    // Missed while offline: error → online → down.
    await beat(agent);
    await beat(agent, 'down');

    const second = connect({ token: u.token });
    await connected(second);
    const replayed: (AgentStatusChangedEvent & Epoch)[] = [];
    second.on('agent_status_changed', (e) => mine(e) && replayed.push(e));
    const ack: Ack = await second.emitWithAck('resume', { epoch, lastSeq });
    expect(ack.ok).toBe(true);
    expect(ack.replayed).toBeGreaterThanOrEqual(2);
    await waitFor(() => replayed.length >= 2);
    expect(replayed.map((e) => e.status)).toEqual(['online', 'down']);
    expect(replayed[0].seq).toBeGreaterThan(lastSeq);
    expect(replayed[1].seq).toBeGreaterThan(replayed[0].seq);
    expect(replayed.every((e) => e.epoch === epoch)).toBe(true);
  });

  it('a resume from an unknown sequence or another epoch gets a resync hint', async () => {
    const u = await createUser(t, 'viewer');
    const agent = await register('rt-epoch');
    const s = connect({ token: u.token });
    await connected(s);
    const seen: (AgentStatusChangedEvent & Epoch)[] = [];
    s.on('agent_status_changed', (e) => e.agentId === agent.id && seen.push(e));
    await beat(agent, 'error');
    await waitFor(() => seen.length === 1);
    const { epoch } = seen[0];

    let resync = new Promise<ResyncEvent>((resolve) => s.once('resync', resolve));
    await s.emitWithAck('resume', { epoch, lastSeq: 1_000_000_000 });
    expect(await resync).toMatchObject({ reason: 'unknown_sequence', epoch });
    // Same number, other numbering (e.g. before an API restart): never replayed.
    resync = new Promise<ResyncEvent>((resolve) => s.once('resync', resolve));
    const ack = await s.emitWithAck('resume', { epoch: 'other-epoch', lastSeq: 1 });
    expect(ack).toEqual({ ok: true, replayed: 0 });
    const r = await resync;
    expect(r).toMatchObject({ reason: 'epoch_changed', epoch });
    expect(r.currentSeq).toBeGreaterThanOrEqual(seen[0].seq);
    expect((await s.emitWithAck('resume', { epoch, lastSeq: -1 })).ok).toBe(false);
    expect((await s.emitWithAck('resume', { lastSeq: 1 } as never)).ok).toBe(false);
  });

  it('disabling a user disconnects their sockets; a role change downgrades them', async () => {
    const u = await createUser(t, 'operator');
    const s = connect({ token: u.token });
    await connected(s);
    const changed = new Promise<SessionChangedEvent>((resolve) =>
      s.once('session_changed', resolve),
    );
    const events = t.app.get(EventEmitter2);
    events.emit(InternalEvent.UserAccessChanged, {
      userId: u.userId,
      reason: 'role_changed',
      role: 'viewer',
    });
    expect(await changed).toEqual({ reason: 'role_changed', role: 'viewer' });
    expect(s.connected).toBe(true);

    const gone = new Promise<string>((resolve) => s.once('disconnect', resolve));
    events.emit(InternalEvent.UserAccessChanged, { userId: u.userId, reason: 'disabled' });
    expect(await gone).toBe('io server disconnect');
    await sleep(50);
  });
});
