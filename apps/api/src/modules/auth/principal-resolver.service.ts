import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { DataSource } from 'typeorm';
import { API_KEY_PREFIX, type ApiKeyScope, type Role } from '@agent-monitor/contracts';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { unauthenticated } from '../../common/errors.js';
import type { ApiKeyPrincipal, Principal, UserPrincipal } from '../../common/access.js';

export interface AccessTokenClaims {
  sub: string;
  sid: string;
  typ: 'access';
  role: Role;
}

interface Cached<T> {
  value: T | null;
  until: number;
}

/** How long a verified key or session is trusted before it is looked up again. */
const KEY_CACHE_MS = 5_000;
const SESSION_CACHE_MS = 2_000;
const LAST_USED_WRITE_EVERY_MS = 60_000;
const TOUCH_FLUSH_MS = 1_000;

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/**
 * Turns request credentials into a Principal. JWTs are checked for signature (HS256 only),
 * type and expiry, then against the live session row, so a revoked session, a disabled user
 * or a changed role takes effect within SESSION_CACHE_MS on every instance (at once on this
 * one: services call `forgetUser`/`forgetSession`). API keys are looked up by SHA-256.
 */
@Injectable()
export class PrincipalResolver implements BeforeApplicationShutdown {
  private readonly logger = new Logger(PrincipalResolver.name);
  private readonly keys = new Map<string, Cached<ApiKeyPrincipal & { expiresAt: number | null }>>();
  private readonly sessions = new Map<string, Cached<UserPrincipal>>();
  private readonly lastUsedWritten = new Map<string, number>();
  private readonly dueTouches = new Set<string>();
  private touchTimer: NodeJS.Timeout | null = null;
  private readonly pendingWrites = new Set<Promise<unknown>>();
  /** keyId → until when cached copies are not trusted (see forgetApiKey). */
  private readonly forgottenKeys = new Map<string, number>();

  constructor(
    private readonly jwt: JwtService,
    private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async fromHeaders(
    headers: Record<string, string | string[] | undefined>,
  ): Promise<Principal | null> {
    const credential = extractCredential(headers);
    if (!credential) return null;
    return credential.startsWith(API_KEY_PREFIX)
      ? this.fromApiKey(credential)
      : this.fromAccessToken(credential);
  }

  async fromAccessToken(token: string): Promise<UserPrincipal> {
    let claims: AccessTokenClaims;
    try {
      claims = await this.jwt.verifyAsync<AccessTokenClaims>(token, {
        secret: this.config.jwtSecret,
        algorithms: ['HS256'],
      });
    } catch (e) {
      const expired = (e as Error).name === 'TokenExpiredError';
      throw unauthenticated(expired ? 'Access token expired' : 'Invalid access token');
    }
    if (
      claims.typ !== 'access' ||
      typeof claims.sid !== 'string' ||
      typeof claims.sub !== 'string'
    ) {
      throw unauthenticated('Invalid access token');
    }
    const principal = await this.session(claims.sid);
    if (!principal || principal.userId !== claims.sub) throw unauthenticated('Session has ended');
    return principal;
  }

  async fromApiKey(key: string): Promise<ApiKeyPrincipal> {
    if (key.length > 200) throw unauthenticated('Invalid API key');
    const hash = hashApiKey(key);
    const now = Date.now();
    let hit = this.keys.get(hash);
    const suspect = hit?.value ? (this.forgottenKeys.get(hit.value.keyId) ?? 0) > now : false;
    if (!hit || hit.until < now || suspect) {
      const rows: Array<{
        id: string;
        name: string;
        scopes: ApiKeyScope[];
        agent_id: string | null;
        created_by: string | null;
        expires_at: Date | null;
      }> = await this.db.query(
        `SELECT id, name, scopes, agent_id, created_by, expires_at
           FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`,
        [hash],
      );
      const r = rows[0];
      hit = {
        until: now + KEY_CACHE_MS,
        value: r
          ? {
              kind: 'api_key',
              keyId: r.id,
              name: r.name,
              scopes: r.scopes,
              agentId: r.agent_id,
              createdBy: r.created_by,
              expiresAt: r.expires_at ? r.expires_at.getTime() : null,
            }
          : null,
      };
      this.keys.set(hash, hit);
      if (this.keys.size > 50_000) this.keys.delete(this.keys.keys().next().value!);
    }
    const v = hit.value;
    if (!v) throw unauthenticated('Invalid API key');
    if (v.expiresAt !== null && v.expiresAt <= now) throw unauthenticated('API key expired');
    this.touchKey(v.keyId, now);
    const { expiresAt: _e, ...principal } = v;
    return principal;
  }

  /** Drop cached credentials after a revoke, a role change, a disable or a logout. */
  forgetApiKey(keyId: string): void {
    for (const [h, c] of this.keys) if (c.value?.keyId === keyId) this.keys.delete(h);
    // A revoke inside a transaction is forgotten before it commits; a request racing it can
    // re-cache the old row. For a while, cached copies of this key are re-checked every time.
    const now = Date.now();
    this.forgottenKeys.set(keyId, now + KEY_CACHE_MS * 2);
    if (this.forgottenKeys.size > 1_000) {
      for (const [id, until] of this.forgottenKeys) if (until <= now) this.forgottenKeys.delete(id);
    }
  }

  forgetSession(sessionId: string): void {
    this.sessions.delete(sessionId);
  }

  forgetUser(userId: string): void {
    for (const [sid, c] of this.sessions) if (c.value?.userId === userId) this.sessions.delete(sid);
  }

  private async session(sid: string): Promise<UserPrincipal | null> {
    const now = Date.now();
    const hit = this.sessions.get(sid);
    if (hit && hit.until >= now) return hit.value;
    const rows: Array<{ user_id: string; email: string; name: string; role: Role }> =
      await this.db.query(
        `SELECT u.id AS user_id, u.email, u.name, u.role
         FROM user_sessions s JOIN users u ON u.id = s.user_id
        WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires_at > now() AND NOT u.disabled`,
        [sid],
      );
    const r = rows[0];
    const value: UserPrincipal | null = r
      ? {
          kind: 'user',
          userId: r.user_id,
          email: r.email,
          name: r.name,
          role: r.role,
          sessionId: sid,
        }
      : null;
    this.sessions.set(sid, { value, until: now + SESSION_CACHE_MS });
    if (this.sessions.size > 50_000) this.sessions.delete(this.sessions.keys().next().value!);
    return value;
  }

  /** last_used_at is written at most once a minute per key, off the request path. */
  private touchKey(keyId: string, now: number): void {
    const last = this.lastUsedWritten.get(keyId) ?? 0;
    if (now - last < LAST_USED_WRITE_EVERY_MS) return;
    this.lastUsedWritten.set(keyId, now);
    // One UPDATE (one commit) per second for all keys seen, not one per key: with 10,000
    // agents that is 1 commit/s instead of ~170 competing with the heartbeats' own.
    this.dueTouches.add(keyId);
    if (!this.touchTimer) {
      this.touchTimer = setTimeout(() => this.flushTouches(), TOUCH_FLUSH_MS);
      this.touchTimer.unref();
    }
  }

  private flushTouches(): void {
    this.touchTimer = null;
    if (!this.dueTouches.size) return;
    const ids = [...this.dueTouches];
    this.dueTouches.clear();
    const write = this.db
      .query(`UPDATE api_keys SET last_used_at = now() WHERE id = ANY($1::uuid[])`, [ids])
      .catch((e: unknown) => this.logger.warn(`could not record key use: ${String(e)}`))
      .finally(() => this.pendingWrites.delete(write));
    this.pendingWrites.add(write);
  }

  /** Writes pending last-used times and lets writes in flight finish before the pool closes. */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.touchTimer) clearTimeout(this.touchTimer);
    this.flushTouches();
    await Promise.allSettled([...this.pendingWrites]);
  }
}

/** `Authorization: Bearer x`, `Authorization: Token x` (InfluxDB clients) or `X-API-Key: x`. */
export function extractCredential(
  headers: Record<string, string | string[] | undefined>,
): string | null {
  const auth = headers['authorization'];
  if (typeof auth === 'string') {
    const m = /^(Bearer|Token)\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[2];
  }
  const key = headers['x-api-key'];
  if (typeof key === 'string' && key.trim()) return key.trim();
  return null;
}
