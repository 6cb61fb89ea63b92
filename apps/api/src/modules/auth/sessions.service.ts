import { randomUUID } from 'node:crypto';
import {
  Inject,
  Injectable,
  Logger,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { JwtService } from '@nestjs/jwt';
import { DataSource, type EntityManager } from 'typeorm';
import type { Role, TokenPair } from '@agent-monitor/contracts';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { InternalEvent, type InternalEventPayloads } from '../../common/events.js';
import type { RequestContext } from '../../common/access.js';
import type { AccessTokenClaims } from './principal-resolver.service.js';
import { PrincipalResolver } from './principal-resolver.service.js';
import { returnedRows } from './sql-rows.js';

export interface RefreshTokenClaims {
  sub: string;
  sid: string;
  jti: string;
  typ: 'refresh';
}

export type SessionEndReason =
  'logout' | 'reuse' | 'password_changed' | 'password_reset' | 'role_changed' | 'disabled';

type AccessChangeReason = InternalEventPayloads[typeof InternalEvent.UserAccessChanged]['reason'];

/**
 * Sessions are refresh-token families (one `user_sessions` row each); access tokens name
 * their session (`sid`) and die with it. Owns token signing and ending sessions, for the
 * auth and users domains alike.
 */
/** Ended or expired sessions are kept this long (reuse forensics), then deleted. */
export const SESSION_KEEP_DAYS = 30;
const PRUNE_EVERY_MS = 3_600_000;

@Injectable()
export class SessionsService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Sessions');
  private pruner: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: DataSource,
    private readonly jwt: JwtService,
    private readonly resolver: PrincipalResolver,
    private readonly events: EventEmitter2,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.pruner = setInterval(() => {
      this.prune().catch((e: unknown) => this.logger.warn(`session pruning failed: ${String(e)}`));
    }, PRUNE_EVERY_MS);
    this.pruner.unref();
  }

  onModuleDestroy(): void {
    if (this.pruner) clearInterval(this.pruner);
  }

  /**
   * Deletes sessions that ended or expired more than SESSION_KEEP_DAYS ago (idempotent, so
   * every instance may run it). Returns how many were deleted.
   */
  async prune(): Promise<number> {
    const res: unknown = await this.db.query(
      `DELETE FROM user_sessions
        WHERE revoked_at < now() - $1 * interval '1 day'
           OR expires_at < now() - $1 * interval '1 day'
        RETURNING id`,
      [SESSION_KEEP_DAYS],
    );
    return returnedRows(res).length;
  }

  /** Opens a session for the user and returns its first token pair. */
  async open(
    m: EntityManager,
    user: { id: string; role: Role },
    ctx: RequestContext,
  ): Promise<TokenPair & { sessionId: string }> {
    const sid = randomUUID();
    const jti = randomUUID();
    await m.query(
      `INSERT INTO user_sessions (id, user_id, current_token_id, last_used_at, expires_at, ip, user_agent)
       VALUES ($1, $2, $3, now(), now() + $4 * interval '1 millisecond', $5, $6)`,
      [sid, user.id, jti, this.config.REFRESH_TOKEN_TTL, ctx.ip.slice(0, 64), ctx.userAgent],
    );
    return { ...(await this.sign(user, sid, jti)), sessionId: sid };
  }

  async sign(user: { id: string; role: Role }, sid: string, jti: string): Promise<TokenPair> {
    const accessClaims: AccessTokenClaims = { sub: user.id, sid, typ: 'access', role: user.role };
    const refreshClaims: RefreshTokenClaims = { sub: user.id, sid, jti, typ: 'refresh' };
    const accessSec = Math.floor(this.config.ACCESS_TOKEN_TTL / 1000);
    const [accessToken, refreshToken] = await Promise.all([
      this.jwt.signAsync(accessClaims, {
        secret: this.config.jwtSecret,
        algorithm: 'HS256',
        expiresIn: accessSec,
      }),
      this.jwt.signAsync(refreshClaims, {
        secret: this.config.jwtRefreshSecret,
        algorithm: 'HS256',
        expiresIn: Math.floor(this.config.REFRESH_TOKEN_TTL / 1000),
      }),
    ]);
    return { accessToken, refreshToken, expiresIn: accessSec };
  }

  /** Verifies a refresh token's signature, expiry and shape; null when it is not one of ours. */
  async verifyRefresh(token: string): Promise<RefreshTokenClaims | null> {
    try {
      const c = await this.jwt.verifyAsync<RefreshTokenClaims>(token, {
        secret: this.config.jwtRefreshSecret,
        algorithms: ['HS256'],
      });
      const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
      if (c.typ !== 'refresh' || !uuid.test(c.sid ?? '') || !uuid.test(c.jti ?? '')) return null;
      if (typeof c.sub !== 'string') return null;
      return c;
    } catch {
      return null;
    }
  }

  /** Ends one session (idempotent). Call `forgetSession` after commit. */
  async end(m: EntityManager, sid: string, reason: SessionEndReason): Promise<boolean> {
    const res: unknown = await m.query(
      `UPDATE user_sessions SET revoked_at = now(), revoked_reason = $2
        WHERE id = $1 AND revoked_at IS NULL RETURNING id`,
      [sid, reason],
    );
    return returnedRows(res).length > 0;
  }

  /** Ends every live session of the user except `keepSessionId`; returns how many ended. */
  async endAllForUser(
    m: EntityManager,
    userId: string,
    reason: SessionEndReason,
    keepSessionId?: string,
  ): Promise<number> {
    const res: unknown = await m.query(
      `UPDATE user_sessions SET revoked_at = now(), revoked_reason = $2
        WHERE user_id = $1 AND revoked_at IS NULL AND ($3::uuid IS NULL OR id <> $3::uuid)
        RETURNING id`,
      [userId, reason, keepSessionId ?? null],
    );
    return returnedRows(res).length;
  }

  forgetSession(sid: string): void {
    this.resolver.forgetSession(sid);
  }

  /**
   * After a commit that changed what the user may do: drop cached sessions on this instance
   * (others re-read within seconds) and tell the rest of the app (live sockets follow).
   */
  accessChanged(
    userId: string,
    reason: AccessChangeReason,
    extra: { role?: string; keepSessionId?: string } = {},
  ): void {
    this.resolver.forgetUser(userId);
    this.events.emit(InternalEvent.UserAccessChanged, {
      userId,
      reason,
      ...extra,
    } satisfies InternalEventPayloads[typeof InternalEvent.UserAccessChanged]);
  }
}
