import { createHash } from 'node:crypto';
import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
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

type CachedKey = Cached<ApiKeyPrincipal & { expiresAt: number | null }> & {
  /** When the row was read (Date.now()). */
  checkedAt: number;
};

/**
 * How long a verified API key is trusted before it is looked up again, while the revocation
 * feed (below) is current. Longer than any heartbeat interval (1 s to 1 h would need 1 h; 10 min
 * covers the usual 10 s–1 min), so a steady fleet costs no key lookup per request.
 */
const KEY_CACHE_MS = 10 * 60_000;
/**
 * Unknown or revoked keys (negative entries), and every key while the revocation feed has not
 * succeeded lately, are re-checked this often: the feed's failure degrades to a short cache.
 */
const KEY_RECHECK_MS = 5_000;
/** Each instance reads the keys revoked lately this often: one query, whatever the load. */
const REVOCATION_POLL_MS = 1_000;
/**
 * The feed reads keys whose revoked_at is this recent. revoked_at is the revoking
 * transaction's start and becomes visible at its commit, so a revoke committed up to this
 * long after it began is still seen (the cache TTL bounds anything slower).
 */
const REVOCATION_OVERLAP_MS = 60_000;
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
 * one: services call `forgetUser`/`forgetSession`).
 *
 * API keys are looked up by SHA-256 and the verified row is cached for KEY_CACHE_MS, so an
 * agent heartbeating every 10 s costs no key query per heartbeat. Revocation still takes
 * effect promptly everywhere: at once on the instance that revoked (`forgetApiKey`), and
 * within about REVOCATION_POLL_MS on every instance through the revocation feed, one query a
 * second that reads the keys revoked lately (also catching revokes made by hand in SQL). If
 * the feed fails, cached keys fall back to being re-checked every KEY_RECHECK_MS.
 */
@Injectable()
export class PrincipalResolver implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(PrincipalResolver.name);
  /** key hash → verified row (or null: unknown/revoked). */
  private readonly keys = new Map<string, CachedKey>();
  /** key id → key hash, to drop a revoked key's entry without scanning the cache. */
  private readonly hashById = new Map<string, string>();
  private revocationTimer: NodeJS.Timeout | null = null;
  private revocationPoll: Promise<void> | null = null;
  /** Database time the last successful feed read ran at, and when (Date.now()) it succeeded. */
  private revocationsReadAt: Date | null = null;
  private revocationFeedOkAt = 0;
  private stopped = false;
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
    if (!hit || !this.trusted(hit, now)) {
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
        checkedAt: now,
        until: now + (r ? KEY_CACHE_MS : KEY_RECHECK_MS),
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
      this.cacheKey(hash, hit);
    }
    const v = hit.value;
    if (!v) throw unauthenticated('Invalid API key');
    if (v.expiresAt !== null && v.expiresAt <= now) throw unauthenticated('API key expired');
    this.touchKey(v.keyId, now);
    const { expiresAt: _e, ...principal } = v;
    return principal;
  }

  private trusted(hit: CachedKey, now: number): boolean {
    if (hit.until < now) return false;
    if (hit.value && (this.forgottenKeys.get(hit.value.keyId) ?? 0) > now) return false;
    // Long caching is only safe while the revocation feed is current.
    return now - hit.checkedAt < KEY_RECHECK_MS || now - this.revocationFeedOkAt < KEY_RECHECK_MS;
  }

  private cacheKey(hash: string, hit: CachedKey): void {
    this.dropHash(hash);
    this.keys.set(hash, hit);
    if (hit.value) this.hashById.set(hit.value.keyId, hash);
    if (this.keys.size > 50_000) this.dropHash(this.keys.keys().next().value!);
  }

  private dropHash(hash: string): void {
    const old = this.keys.get(hash);
    if (!old) return;
    this.keys.delete(hash);
    if (old.value && this.hashById.get(old.value.keyId) === hash) {
      this.hashById.delete(old.value.keyId);
    }
  }

  /** Drop cached credentials after a revoke, a role change, a disable or a logout. */
  forgetApiKey(keyId: string): void {
    const hash = this.hashById.get(keyId);
    if (hash) this.dropHash(hash);
    // A revoke inside a transaction is forgotten before it commits; a request racing it can
    // re-cache the old row. For a while, cached copies of this key are re-checked every time
    // (the revocation feed would also drop them within a second of the commit).
    const now = Date.now();
    this.forgottenKeys.set(keyId, now + KEY_RECHECK_MS * 2);
    if (this.forgottenKeys.size > 1_000) {
      for (const [id, until] of this.forgottenKeys) if (until <= now) this.forgottenKeys.delete(id);
    }
  }

  onApplicationBootstrap(): void {
    this.scheduleRevocationPoll(0);
  }

  private scheduleRevocationPoll(delay: number): void {
    if (this.stopped) return;
    this.revocationTimer = setTimeout(() => {
      this.revocationPoll = this.readRevocations().finally(() => {
        this.revocationPoll = null;
        this.scheduleRevocationPoll(REVOCATION_POLL_MS);
      });
    }, delay);
    this.revocationTimer.unref();
  }

  /** The revocation feed: drops every cached key revoked lately, on whichever instance. */
  private async readRevocations(): Promise<void> {
    try {
      const since = this.revocationsReadAt
        ? new Date(this.revocationsReadAt.getTime() - REVOCATION_OVERLAP_MS)
        : null;
      const rows = await this.db.query<Array<{ now: Date; ids: string[] }>>(
        `SELECT now() AS now, ARRAY(
           SELECT id FROM api_keys
            WHERE revoked_at > COALESCE($1::timestamptz, now() - $2 * interval '1 millisecond')
         )::text[] AS ids`,
        [since, REVOCATION_OVERLAP_MS],
      );
      for (const id of rows[0].ids) {
        const hash = this.hashById.get(id);
        if (hash) this.dropHash(hash);
      }
      this.revocationsReadAt = rows[0].now;
      this.revocationFeedOkAt = Date.now();
    } catch (e) {
      if (!this.stopped) this.logger.warn(`could not read key revocations: ${String(e)}`);
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
    this.stopped = true;
    if (this.revocationTimer) clearTimeout(this.revocationTimer);
    await this.revocationPoll;
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
