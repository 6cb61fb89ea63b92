import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { LoginRequest, LoginResponse, Role, TokenPair } from '@agent-monitor/contracts';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import type { Principal, RequestContext, UserPrincipal } from '../../common/access.js';
import { unauthenticated } from '../../common/errors.js';
import { AuditService } from '../audit/audit.service.js';
import { UserEntity } from '../users/user.entity.js';
import { toUser } from '../users/user.mapper.js';
import { LoginThrottle } from './login-throttle.service.js';
import { PasswordsService } from './passwords.service.js';
import { SessionsService } from './sessions.service.js';
import { returnedRows } from './sql-rows.js';

/** One answer for an unknown email, a wrong password and a disabled account. */
const BAD_CREDENTIALS = 'Invalid email or password';
/**
 * How long after a rotation the token it replaced is answered with a plain 401 instead of
 * being treated as stolen: two tabs (or a retry) refreshing at once must not end a session.
 */
export const REFRESH_GRACE_MS = 5_000;

@Injectable()
export class AuthService {
  constructor(
    private readonly db: DataSource,
    private readonly audit: AuditService,
    private readonly passwords: PasswordsService,
    private readonly sessions: SessionsService,
    private readonly throttle: LoginThrottle,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async login(req: LoginRequest, ctx: RequestContext): Promise<LoginResponse> {
    const attempt = await this.throttle.attempt(ctx.ip, req.email);
    const user = await this.db.getRepository(UserEntity).findOne({ where: { email: req.email } });
    // Unknown emails are verified against a dummy hash: same work, same answer, same timing.
    const ok = await this.passwords.verify(user?.passwordHash ?? null, req.password);
    if (!user || !ok || user.disabled) {
      await this.audit.record(null, ctx, {
        action: 'auth.login',
        resourceType: 'user',
        resourceId: user?.id ?? null,
        outcome: 'failure',
        changes: {
          email: req.email.slice(0, 254),
          reason: !user ? 'unknown_email' : !ok ? 'wrong_password' : 'disabled',
        },
      });
      throw unauthenticated(BAD_CREDENTIALS);
    }
    const pair = await this.db.transaction(async (m) => {
      const opened = await this.sessions.open(m, user, ctx);
      await m.query(`UPDATE users SET last_login_at = now() WHERE id = $1`, [user.id]);
      ctx.principal = principalOf(user, opened.sessionId);
      await this.audit.record(m, ctx, {
        action: 'auth.login',
        resourceType: 'user',
        resourceId: user.id,
        changes: { sessionId: opened.sessionId },
      });
      return opened;
    });
    await this.throttle.succeeded(attempt);
    user.lastLoginAt = new Date();
    return {
      accessToken: pair.accessToken,
      refreshToken: pair.refreshToken,
      expiresIn: pair.expiresIn,
      user: toUser(user),
    };
  }

  /**
   * Rotates the session's refresh token. The compare-and-set UPDATE lets exactly one of two
   * concurrent refreshes with the same token win; the loser (presenting the just-replaced
   * token within REFRESH_GRACE_MS) gets a 401 and the session lives on. Any other use of an
   * old token is a replay: the whole session is revoked.
   */
  async refresh(refreshToken: string, ctx: RequestContext): Promise<TokenPair> {
    const c = await this.sessions.verifyRefresh(refreshToken);
    if (!c) throw unauthenticated('Invalid refresh token');
    const next = randomUUID();
    const outcome = await this.db.transaction(async (m) => {
      const res: unknown = await m.query(
        `UPDATE user_sessions s
            SET current_token_id = $3, previous_token_id = $2, rotated_at = now(), last_used_at = now(),
                expires_at = now() + $4 * interval '1 millisecond'
           FROM users u
          WHERE s.id = $1 AND s.current_token_id = $2 AND s.revoked_at IS NULL
            AND s.expires_at > now() AND u.id = s.user_id AND NOT u.disabled AND u.id = $5
          RETURNING u.id, u.email, u.name, u.role`,
        [c.sid, c.jti, next, this.config.REFRESH_TOKEN_TTL, c.sub],
      );
      const rotated = returnedRows<{ id: string; email: string; name: string; role: Role }>(res)[0];
      if (rotated) {
        ctx.principal = {
          kind: 'user',
          userId: rotated.id,
          email: rotated.email,
          name: rotated.name,
          role: rotated.role,
          sessionId: c.sid,
        };
        await this.audit.record(m, ctx, {
          action: 'auth.refresh',
          resourceType: 'session',
          resourceId: c.sid,
        });
        return { kind: 'rotated' as const, pair: await this.sessions.sign(rotated, c.sid, next) };
      }
      const rows = await m.query<
        Array<{ previous_token_id: string | null; live: boolean; in_grace: boolean }>
      >(
        `SELECT previous_token_id,
                (revoked_at IS NULL AND expires_at > now()) AS live,
                (rotated_at > now() - $2 * interval '1 millisecond') AS in_grace
           FROM user_sessions WHERE id = $1 AND user_id = $3 FOR UPDATE`,
        [c.sid, REFRESH_GRACE_MS, c.sub],
      );
      const s = rows[0];
      if (!s || !s.live) return { kind: 'ended' as const };
      if (s.previous_token_id === c.jti && s.in_grace) return { kind: 'raced' as const };
      // A used token came back: whoever holds it is not the session's owner, or both are.
      await this.sessions.end(m, c.sid, 'reuse');
      await this.audit.record(m, ctx, {
        action: 'auth.refresh_reuse',
        resourceType: 'session',
        resourceId: c.sid,
        outcome: 'failure',
        changes: { userId: c.sub, revoked: true },
      });
      return { kind: 'reused' as const };
    });
    switch (outcome.kind) {
      case 'rotated':
        return outcome.pair;
      case 'raced':
        throw unauthenticated('Refresh token was already used; use the newest one');
      case 'ended':
        throw unauthenticated('Session has ended');
      case 'reused':
        this.sessions.forgetSession(c.sid);
        throw unauthenticated('Refresh token reuse detected; the session has been revoked');
    }
  }

  /** Ends the caller's session: the one of the access token, else the one of the refresh token. */
  async logout(
    principal: Principal | undefined,
    refreshToken: string | undefined,
    ctx: RequestContext,
  ): Promise<void> {
    let sid: string | null = null;
    let userId: string | null = null;
    if (principal?.kind === 'user') {
      sid = principal.sessionId;
      userId = principal.userId;
    } else if (refreshToken) {
      const c = await this.sessions.verifyRefresh(refreshToken);
      if (c) {
        sid = c.sid;
        userId = c.sub;
      }
    }
    if (!sid || !userId) throw unauthenticated('Send the access token or the refresh token');
    const sessionId = sid;
    await this.db.transaction(async (m) => {
      const ended = await this.sessions.end(m, sessionId, 'logout');
      await this.audit.record(m, ctx, {
        action: 'auth.logout',
        resourceType: 'session',
        resourceId: sessionId,
        changes: { userId, alreadyEnded: !ended },
      });
    });
    // Only this session ends; UserAccessChanged would disconnect the user's other browsers.
    this.sessions.forgetSession(sessionId);
  }
}

function principalOf(u: UserEntity, sessionId: string): UserPrincipal {
  return { kind: 'user', userId: u.id, email: u.email, name: u.name, role: u.role, sessionId };
}
