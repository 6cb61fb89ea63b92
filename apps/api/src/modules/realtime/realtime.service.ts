import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { OnEvent } from '@nestjs/event-emitter';
import { createAdapter } from '@socket.io/redis-adapter';
import type { IncomingHttpHeaders, Server as HttpServer } from 'node:http';
import type { Gauge, Histogram } from 'prom-client';
import { createClient, type RedisClientType } from 'redis';
import { Server, type Namespace, type Socket } from 'socket.io';
import {
  DASHBOARD_NAMESPACE,
  JoinAgentSchema,
  ResumeSchema,
  type Ack,
  type ClientToServerEvents,
  type Role,
  type SequencedEventName,
  type ServerToClientEvents,
} from '@agent-monitor/contracts';
import { InternalEvent, type InternalEventPayloads } from '../../common/events.js';
import {
  RealtimePublisher,
  type EventPayload,
  type PublishOptions,
} from '../../common/realtime-publisher.js';
import { DomainException } from '../../common/errors.js';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { PrincipalResolver } from '../auth/principal-resolver.service.js';
import { MetricsRegistry } from '../system/metrics-registry.service.js';
import { MemoryEventLog, RedisEventLog, type LoggedEvent, type ReplayResult } from './event-log.js';

export interface SocketData {
  userId: string;
  sessionId: string;
  role: Role;
}

type DashboardNamespace = Namespace<ClientToServerEvents, ServerToClientEvents, object, SocketData>;
type DashboardSocket = Socket<ClientToServerEvents, ServerToClientEvents, object, SocketData>;

const agentRoom = (id: string) => `agent:${id}`;
const userRoom = (id: string) => `user:${id}`;
const sessionRoom = (id: string) => `session:${id}`;

/**
 * The dashboard's live channel: socket.io on the API's own port, namespace `/dashboard`.
 * Connections authenticate with the access token in `handshake.auth.token` and must come from
 * the same origin (or SOCKET_ALLOWED_ORIGINS). Every broadcast carries `{epoch, seq}`; a client
 * that reconnects sends `resume {epoch, lastSeq}` and gets what it missed, or `resync` when the
 * bounded buffer no longer reaches back or the epoch is not the current one. With REDIS_URL the
 * socket.io Redis adapter carries events to every instance and numbering and buffer live in
 * Redis (one shared epoch). While this instance cannot reach Redis it numbers events in an epoch
 * of its own (they reach only its sockets); when Redis is back it starts a new shared epoch
 * and broadcasts `resync`, so no client silently misses what did not fan out meanwhile.
 */
@Injectable()
export class RealtimeService
  extends RealtimePublisher
  implements OnApplicationBootstrap, BeforeApplicationShutdown
{
  private readonly logger = new Logger('Realtime');
  private io: Server<ClientToServerEvents, ServerToClientEvents, object, SocketData> | null = null;
  private nsp: DashboardNamespace | null = null;
  /** This instance's own numbering: always without Redis, meanwhile while Redis is away. */
  private local = new MemoryEventLog();
  private redisLog: RedisEventLog | null = null;
  /** Which log numbers newly published events. */
  private mode: 'local' | 'redis' = 'local';
  /** Events were numbered locally since the last switch to Redis (they did not fan out). */
  private localUsed = false;
  /** Redis numbering was in use once: coming back always starts a new epoch. */
  private everRedis = false;
  private switching = false;
  private redisClients: RedisClientType[] = [];
  private redisUp: boolean | null = null;
  /** Events published but not yet handed to socket.io. */
  private pending = 0;
  private publishDelay: Histogram | null = null;
  /** Keeps this instance's events in the order they were published. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly resolver: PrincipalResolver,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() private readonly metrics?: MetricsRegistry,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    const httpServer = this.adapterHost.httpAdapter.getHttpServer() as HttpServer;
    const io = new Server<ClientToServerEvents, ServerToClientEvents, object, SocketData>(
      httpServer,
      {
        serveClient: false,
        // Sockets of the dashboard only; no CORS headers: foreign pages are refused below.
        cors: undefined,
        pingInterval: 20_000,
        pingTimeout: 20_000,
        maxHttpBufferSize: 64 * 1024,
      },
    );
    const nsp = io.of(DASHBOARD_NAMESPACE) as DashboardNamespace;
    nsp.use((socket, next) => {
      this.authenticate(socket)
        .then(() => next())
        .catch((e: unknown) => {
          const err = new Error(e instanceof DomainException ? e.message : 'Connection refused');
          (err as Error & { data?: unknown }).data = {
            code: e instanceof DomainException ? e.code : 'UNAUTHENTICATED',
          };
          next(err);
        });
    });
    nsp.on('connection', (socket) => this.onConnection(socket));
    // The default namespace serves nothing.
    io.of('/').use((_s, next) => next(new Error('Use the /dashboard namespace')));
    this.io = io;
    this.nsp = nsp;
    if (this.config.REDIS_URL) {
      this.startRedis(io, this.config.REDIS_URL);
      if (!this.redisUp) {
        this.logger.warn('Redis not connected yet: live events stay in this instance meanwhile');
      }
    }
    // `am_socket_connections` on /metrics and in system health snapshots.
    this.metrics?.setSocketConnectionsSource(() => this.nsp?.sockets.size ?? 0);
    const pendingGauge: Gauge | undefined = this.metrics?.gauge({
      name: 'am_realtime_pending_events',
      help: 'Live events published on this instance and not yet handed to socket.io.',
      collect: () => pendingGauge?.set(this.pending),
    });
    this.publishDelay =
      this.metrics?.histogram({
        name: 'am_realtime_publish_delay_seconds',
        help: 'Time from publishing a live event to handing it to socket.io (numbering included).',
      }) ?? null;
  }

  async beforeApplicationShutdown(): Promise<void> {
    const io = this.io;
    this.io = null;
    this.nsp = null;
    if (io) {
      io.of(DASHBOARD_NAMESPACE).disconnectSockets(true);
      await new Promise<void>((resolve) => {
        // io.close() also closes the HTTP server; Nest closes that itself right after.
        io.engine.close();
        resolve();
      });
    }
    await this.chain.catch(() => undefined);
    for (const c of this.redisClients) {
      try {
        // A client that is reconnecting has nothing to flush (and close() would wait).
        if (c.isReady) await c.close();
        else c.destroy();
      } catch {
        c.destroy();
      }
    }
    this.redisClients = [];
  }

  /**
   * Never awaited: the app starts with in-process fan-out and numbering whether or not Redis
   * answers (node-redis' `connect()` keeps retrying and would otherwise hold the boot for
   * ever). Once both clients are ready the Redis adapter and event log take over; when Redis
   * drops later, the clients reconnect by themselves (the subscriber resubscribes) and, in
   * between, events still reach this instance's sockets and are numbered locally.
   */
  private startRedis(io: Server, url: string): void {
    const pub: RedisClientType = createClient({
      url,
      // Fail fast while disconnected (the publish chain falls back), never queue unbounded.
      disableOfflineQueue: true,
      socket: {
        connectTimeout: 2000,
        reconnectStrategy: (n: number) => Math.min(100 * 2 ** n, 2000),
      },
    });
    // The subscriber keeps the offline queue: its (re)subscriptions wait for the connection.
    const sub = pub.duplicate({ disableOfflineQueue: false }) as RedisClientType;
    this.redisClients = [pub, sub];
    let adapterInstalled = false;
    const onReady = () => {
      if (!pub.isReady || !sub.isReady || !this.io) return;
      if (this.redisUp !== true) {
        this.logger.log('Redis connected: live events fan out through Redis');
      }
      this.redisUp = true;
      if (!adapterInstalled) {
        adapterInstalled = true;
        this.installRedisAdapter(io, pub, sub);
        this.redisLog = new RedisEventLog(pub);
      }
      void this.enterRedis(pub);
    };
    const onDown = (e?: Error) => {
      // Either link lost: events from here may not fan out and remote ones may not arrive.
      this.leaveRedis();
      // An error that did not cost the connection brings no new 'ready': check again later.
      setTimeout(() => {
        if (this.io && this.mode === 'local' && pub.isReady && sub.isReady) onReady();
      }, 2000).unref();
      if (this.redisUp === false || !this.io) return; // already said, or shutting down
      this.redisUp = false;
      this.logger.warn(
        `Redis unavailable${e ? ` (${e.message})` : ''}: live events stay in this instance until it reconnects`,
      );
    };
    for (const c of [pub, sub]) {
      c.on('ready', onReady);
      c.on('error', (e: Error) => onDown(e));
      c.on('end', () => onDown());
      c.connect().catch((e: unknown) => onDown(e instanceof Error ? e : new Error(String(e))));
    }
  }

  /**
   * Switch numbering to the shared Redis log once both links are ready. If anything was
   * numbered here meanwhile (or Redis was in use before, so a drop may have lost fan-out or
   * Redis may have restarted with an older counter), start a new epoch first and tell every
   * client to `resync`; a client away at that moment gets `epoch_changed` when it resumes.
   */
  private async enterRedis(pub: RedisClientType): Promise<void> {
    const log = this.redisLog;
    if (this.switching || this.mode === 'redis' || !log) return;
    this.switching = true;
    try {
      await log.load();
      const rotated = this.everRedis || this.localUsed ? await log.rotate() : null;
      if (!this.io || !pub.isReady || this.redisUp !== true) return; // dropped again meanwhile
      this.mode = 'redis';
      this.everRedis = true;
      this.localUsed = false;
      if (rotated) {
        this.logger.log(`Live events renumbered in a new epoch ${rotated.epoch}: clients resync`);
        // In publish order: after the events numbered locally, before the new epoch's.
        this.chain = this.chain.then(() =>
          this.nsp?.emit('resync', {
            reason: 'epoch_changed',
            epoch: rotated.epoch,
            currentSeq: rotated.seq,
          }),
        );
      }
    } catch (e: unknown) {
      this.warnOnce(`could not switch live events to Redis: ${String(e)}`);
      setTimeout(() => {
        if (this.io && pub.isReady && this.redisUp === true) void this.enterRedis(pub);
      }, 1000).unref();
    } finally {
      this.switching = false;
    }
  }

  /** Number locally from now on, in a new epoch (idempotent while already local). */
  private leaveRedis(): void {
    if (this.mode !== 'redis') return;
    this.mode = 'local';
    this.local = new MemoryEventLog();
  }

  /**
   * Swaps socket.io's in-memory adapter for the Redis one at run time. A namespace's rooms
   * live in its adapter, so the rooms of sockets already connected are carried over.
   */
  private installRedisAdapter(io: Server, pub: RedisClientType, sub: RedisClientType): void {
    const rooms = new Map<string, Set<string>>();
    for (const nsp of [io.of('/'), io.of(DASHBOARD_NAMESPACE)]) {
      for (const [id, socket] of nsp.sockets) rooms.set(`${nsp.name}|${id}`, new Set(socket.rooms));
    }
    // The adapter publishes without awaiting; with the offline queue disabled a publish while
    // Redis is away rejects, which must not become an unhandled rejection.
    const adapterPub = new Proxy(pub, {
      get(target, key) {
        if (key === 'publish') {
          return (...args: Parameters<RedisClientType['publish']>) =>
            target.publish(...args).catch(() => 0);
        }
        const v: unknown = Reflect.get(target, key, target);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    io.adapter(createAdapter(adapterPub, sub, { key: 'am:socket.io' }));
    for (const nsp of [io.of('/'), io.of(DASHBOARD_NAMESPACE)]) {
      for (const id of nsp.sockets.keys()) {
        const r = rooms.get(`${nsp.name}|${id}`);
        if (r) void nsp.adapter.addAll(id, r);
      }
    }
  }

  // ---------------------------------------------------------------- connections

  private async authenticate(socket: DashboardSocket): Promise<void> {
    if (!this.originAllowed(socket.handshake.headers)) {
      throw new DomainException('FORBIDDEN', 'Origin not allowed');
    }
    const token: unknown = (socket.handshake.auth as Record<string, unknown> | undefined)?.token;
    if (typeof token !== 'string' || !token) {
      throw new DomainException('UNAUTHENTICATED', 'Authentication required: auth.token missing');
    }
    const p = await this.resolver.fromAccessToken(token);
    socket.data = { userId: p.userId, sessionId: p.sessionId, role: p.role };
  }

  /** Same origin as the Host the browser connected to, or one of SOCKET_ALLOWED_ORIGINS. */
  private originAllowed(headers: IncomingHttpHeaders): boolean {
    const origin = headers.origin;
    if (!origin) return true; // not a browser (agents, scripts, tests): the token decides
    if (this.config.socketAllowedOrigins.includes(origin)) return true;
    let host: string;
    try {
      host = new URL(origin).host;
    } catch {
      return false;
    }
    const forwarded = this.config.trustProxy ? headers['x-forwarded-host'] : undefined;
    const expected =
      (typeof forwarded === 'string' ? forwarded.split(',')[0].trim() : null) ?? headers.host;
    return Boolean(expected) && host === expected;
  }

  private onConnection(socket: DashboardSocket): void {
    void socket.join([userRoom(socket.data.userId), sessionRoom(socket.data.sessionId)]);
    socket.on('join_agent', (p, ack) => {
      const r = JoinAgentSchema.safeParse(p);
      if (!r.success) return reply(ack, { ok: false, error: 'agentId must be a UUID' });
      void socket.join(agentRoom(r.data.agentId));
      reply(ack, { ok: true });
    });
    socket.on('leave_agent', (p, ack) => {
      const r = JoinAgentSchema.safeParse(p);
      if (!r.success) return reply(ack, { ok: false, error: 'agentId must be a UUID' });
      void socket.leave(agentRoom(r.data.agentId));
      reply(ack, { ok: true });
    });
    socket.on('resume', (p, ack) => {
      const r = ResumeSchema.safeParse(p);
      if (!r.success) {
        return reply(ack, {
          ok: false,
          error: 'resume needs {epoch: string, lastSeq: integer ≥ 0}',
        });
      }
      void this.resume(socket, r.data.epoch, r.data.lastSeq).then(
        (replayed) => reply(ack, { ok: true, replayed }),
        (e: unknown) => {
          this.logger.warn(`resume failed: ${String(e)}`);
          reply(ack, { ok: false, error: 'resume failed' });
        },
      );
    });
  }

  private async resume(socket: DashboardSocket, epoch: string, lastSeq: number): Promise<number> {
    let r: ReplayResult;
    if (this.mode === 'redis' && this.redisLog) {
      try {
        r = await this.redisLog.since(epoch, lastSeq);
      } catch {
        // Redis just went away: answer from the (new) local epoch, i.e. resync.
        this.leaveRedis();
        r = this.local.since(epoch, lastSeq);
      }
    } else {
      r = this.local.since(epoch, lastSeq);
    }
    if ('resync' in r) {
      socket.emit('resync', { reason: r.resync, epoch: r.epoch, currentSeq: r.currentSeq });
      return 0;
    }
    let n = 0;
    for (const e of r.events) {
      if (e.agentId && !socket.rooms.has(agentRoom(e.agentId))) continue;
      emitTo(socket, e);
      n++;
    }
    return n;
  }

  // ---------------------------------------------------------------- publishing

  publish<E extends SequencedEventName>(
    event: E,
    payload: EventPayload<E>,
    opts: PublishOptions = {},
  ): void {
    const entry = {
      event,
      payload: payload as unknown as Record<string, unknown>,
      ...(opts.agentId ? { agentId: opts.agentId } : {}),
    };
    const started = performance.now();
    this.pending++;
    // The Redis append is issued now, not after the previous event's round trip: commands on
    // one connection run in the order sent, so numbers still follow publish order, and a slow
    // Redis does not cap this instance at one event per round trip. Local numbering happens in
    // the chain, i.e. in publish order too; a failed append switches to local numbering (new
    // epoch) for this and every later event until Redis is back (see enterRedis).
    const remote =
      this.mode === 'redis' && this.redisLog
        ? this.redisLog.append(entry).catch((e: unknown) => {
            this.warnOnce(`event log unavailable, numbering locally: ${String(e)}`);
            this.leaveRedis();
            return null;
          })
        : null;
    this.chain = this.chain
      .then(() => remote)
      .then((r) => {
        let l = r;
        if (!l) {
          this.localUsed = true;
          l = this.local.append(entry);
        }
        const nsp = this.nsp;
        if (!nsp) return;
        emitTo(l.agentId ? nsp.to(agentRoom(l.agentId)) : nsp, l);
      })
      .catch((e: unknown) => this.logger.warn(`could not publish ${event}: ${String(e)}`))
      .finally(() => {
        this.pending--;
        this.publishDelay?.observe((performance.now() - started) / 1000);
      });
  }

  private lastWarnAt = 0;
  private warnOnce(message: string): void {
    const now = Date.now();
    if (now - this.lastWarnAt < 10_000) return;
    this.lastWarnAt = now;
    this.logger.warn(message);
  }

  /** Resolves once everything published so far was handed to socket.io (tests, shutdown). */
  flush(): Promise<void> {
    return this.chain.then(() => undefined);
  }

  // ---------------------------------------------------------------- access changes

  @OnEvent(InternalEvent.UserAccessChanged)
  onUserAccessChanged(e: InternalEventPayloads[typeof InternalEvent.UserAccessChanged]): void {
    const nsp = this.nsp;
    if (!nsp) return;
    const target = e.keepSessionId
      ? nsp.in(userRoom(e.userId)).except(sessionRoom(e.keepSessionId))
      : nsp.in(userRoom(e.userId));
    if (e.reason === 'role_changed') {
      const role = e.role as Role | undefined;
      // Local sockets keep the new role for any later checks; every instance's get told.
      for (const s of nsp.sockets.values()) {
        if (s.data.userId === e.userId && role) s.data.role = role;
      }
      target.emit('session_changed', { reason: 'role_changed', role });
      return;
    }
    target.emit('session_changed', {
      reason: e.reason === 'disabled' || e.reason === 'deleted' ? 'disabled' : 'logged_out',
    });
    target.disconnectSockets(true);
  }
}

function reply(ack: ((a: Ack) => void) | undefined, a: Ack): void {
  if (typeof ack === 'function') ack(a);
}

/** Sends a logged event with its sequence number (payload types come from the contract). */
function emitTo(
  target: { emit: (ev: SequencedEventName, payload: never) => unknown },
  e: LoggedEvent,
): void {
  target.emit(e.event, { ...e.payload, seq: e.seq, epoch: e.epoch } as never);
}
