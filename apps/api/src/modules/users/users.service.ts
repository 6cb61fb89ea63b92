import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type {
  ChangePasswordRequest,
  CreateUserRequest,
  ListUsersQuery,
  Page,
  UpdateUserRequest,
  User,
} from '@agent-monitor/contracts';
import type { RequestContext, UserPrincipal } from '../../common/access.js';
import { badRequest, conflict, notFound } from '../../common/errors.js';
import { AuditService } from '../audit/audit.service.js';
import { PasswordsService } from '../auth/passwords.service.js';
import { SessionsService } from '../auth/sessions.service.js';
import { UserEntity } from './user.entity.js';
import { toUser } from './user.mapper.js';

/**
 * Serialises every change that could leave the installation without an enabled admin
 * (demote, disable, delete, and first-boot creation), across instances.
 */
export const ADMIN_LOCK_KEY = 0x616d_6164; // 'amad'

const LAST_ADMIN =
  'This is the last enabled admin: make another user an admin before demoting, disabling or deleting this one';

@Injectable()
export class UsersService {
  constructor(
    private readonly db: DataSource,
    private readonly audit: AuditService,
    private readonly passwords: PasswordsService,
    private readonly sessions: SessionsService,
  ) {}

  async list(q: ListUsersQuery): Promise<Page<User>> {
    const qb = this.db.getRepository(UserEntity).createQueryBuilder('u');
    if (q.q) {
      const like = `%${q.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      qb.andWhere('(u.email ILIKE :like OR u.name ILIKE :like)', { like });
    }
    if (q.role) qb.andWhere('u.role = :role', { role: q.role });
    if (q.disabled !== undefined) qb.andWhere('u.disabled = :d', { d: q.disabled });
    const [rows, total] = await qb
      .orderBy('u.email', 'ASC')
      .skip((q.page - 1) * q.limit)
      .take(q.limit)
      .getManyAndCount();
    return { items: rows.map(toUser), total, page: q.page, limit: q.limit };
  }

  async get(id: string): Promise<User> {
    const u = await this.db.getRepository(UserEntity).findOne({ where: { id } });
    if (!u) throw notFound('User', id);
    return toUser(u);
  }

  async create(ctx: RequestContext, req: CreateUserRequest): Promise<User> {
    this.passwords.assertAcceptable(req.password, req.email);
    const passwordHash = await this.passwords.hash(req.password);
    return this.db.transaction(async (m) => {
      const rows = await m.query<Array<{ id: string }>>(
        `INSERT INTO users (email, name, role, password_hash, password_changed_at)
         VALUES ($1, $2, $3, $4, now()) ON CONFLICT (email) DO NOTHING RETURNING id`,
        [req.email, req.name, req.role, passwordHash],
      );
      if (!rows[0]) {
        throw conflict(`A user with the email ${req.email} already exists`, [
          { field: 'email', message: 'already in use' },
        ]);
      }
      await this.audit.record(m, ctx, {
        action: 'user.create',
        resourceType: 'user',
        resourceId: rows[0].id,
        changes: { email: req.email, name: req.name, role: req.role },
      });
      return toUser(await this.load(m, rows[0].id));
    });
  }

  /**
   * Role change, disable and password reset end the user's sessions (all of them, or all but
   * the caller's own when admins change themselves).
   */
  async update(ctx: RequestContext, id: string, req: UpdateUserRequest): Promise<User> {
    const passwordHash = req.password ? await this.passwords.hash(req.password) : null;
    const self = ctx.principal?.kind === 'user' && ctx.principal.userId === id;
    const keepSessionId = self ? (ctx.principal as UserPrincipal).sessionId : undefined;
    const result = await this.db.transaction(async (m) => {
      await m.query(`SELECT pg_advisory_xact_lock($1)`, [ADMIN_LOCK_KEY]);
      const before = await this.load(m, id, true);
      if (req.password) this.passwords.assertAcceptable(req.password, before.email);
      const roleChanged = req.role !== undefined && req.role !== before.role;
      const disabling = req.disabled === true && !before.disabled;
      const losesAdmin =
        before.role === 'admin' &&
        !before.disabled &&
        ((roleChanged && req.role !== 'admin') || disabling);
      if (losesAdmin) await this.assertAnotherAdmin(m, id);

      const changes: Record<string, unknown> = {};
      const sets: string[] = [];
      const params: unknown[] = [id];
      const set = (col: string, v: unknown) => {
        params.push(v);
        sets.push(`${col} = $${params.length}`);
      };
      if (req.name !== undefined && req.name !== before.name) {
        set('name', req.name);
        changes.name = { from: before.name, to: req.name };
      }
      if (roleChanged) {
        set('role', req.role);
        changes.role = { from: before.role, to: req.role };
      }
      if (req.disabled !== undefined && req.disabled !== before.disabled) {
        set('disabled', req.disabled);
        changes.disabled = { from: before.disabled, to: req.disabled };
      }
      if (passwordHash) {
        set('password_hash', passwordHash);
        sets.push('password_changed_at = now()');
        changes.passwordReset = true;
      }
      if (sets.length) {
        await m.query(
          `UPDATE users SET ${sets.join(', ')}, updated_at = now() WHERE id = $1`,
          params,
        );
      }
      const reason: 'disabled' | 'role_changed' | 'password_reset' | null = disabling
        ? 'disabled'
        : roleChanged
          ? 'role_changed'
          : passwordHash
            ? 'password_reset'
            : null;
      if (reason) {
        changes.sessionsEnded = await this.sessions.endAllForUser(m, id, reason, keepSessionId);
      }
      await this.audit.record(m, ctx, {
        action: 'user.update',
        resourceType: 'user',
        resourceId: id,
        changes,
      });
      return { user: toUser(await this.load(m, id)), reason };
    });
    if (result.reason) {
      this.sessions.accessChanged(
        id,
        result.reason === 'password_reset' ? 'password_changed' : result.reason,
        { role: result.user.role, keepSessionId },
      );
    }
    return result.user;
  }

  async remove(ctx: RequestContext, id: string): Promise<void> {
    await this.db.transaction(async (m) => {
      await m.query(`SELECT pg_advisory_xact_lock($1)`, [ADMIN_LOCK_KEY]);
      const before = await this.load(m, id, true);
      if (before.role === 'admin' && !before.disabled) await this.assertAnotherAdmin(m, id);
      await m.query(`DELETE FROM users WHERE id = $1`, [id]); // sessions cascade
      await this.audit.record(m, ctx, {
        action: 'user.delete',
        resourceType: 'user',
        resourceId: id,
        changes: { email: before.email, role: before.role },
      });
    });
    this.sessions.accessChanged(id, 'deleted');
  }

  async profile(p: UserPrincipal): Promise<User> {
    return this.get(p.userId);
  }

  /** Changes the caller's own password and ends their other sessions (this one stays). */
  async changePassword(
    ctx: RequestContext,
    p: UserPrincipal,
    req: ChangePasswordRequest,
  ): Promise<void> {
    const user = await this.db.getRepository(UserEntity).findOne({ where: { id: p.userId } });
    if (!user) throw notFound('User', p.userId);
    if (!(await this.passwords.verify(user.passwordHash, req.currentPassword))) {
      throw badRequest('currentPassword: is not your current password', [
        { field: 'currentPassword', message: 'is not your current password' },
      ]);
    }
    if (req.newPassword === req.currentPassword) {
      throw badRequest('newPassword: must differ from the current password', [
        { field: 'newPassword', message: 'must differ from the current password' },
      ]);
    }
    this.passwords.assertAcceptable(req.newPassword, user.email, 'newPassword');
    const hash = await this.passwords.hash(req.newPassword);
    await this.db.transaction(async (m) => {
      await m.query(
        `UPDATE users SET password_hash = $2, password_changed_at = now(), updated_at = now() WHERE id = $1`,
        [p.userId, hash],
      );
      const ended = await this.sessions.endAllForUser(m, p.userId, 'password_changed', p.sessionId);
      await this.audit.record(m, ctx, {
        action: 'user.change_password',
        resourceType: 'user',
        resourceId: p.userId,
        changes: { sessionsEnded: ended },
      });
    });
    this.sessions.accessChanged(p.userId, 'password_changed', { keepSessionId: p.sessionId });
  }

  private async load(m: EntityManager, id: string, lock = false): Promise<UserEntity> {
    const u = await m.getRepository(UserEntity).findOne({
      where: { id },
      ...(lock ? { lock: { mode: 'pessimistic_write' as const } } : {}),
    });
    if (!u) throw notFound('User', id);
    return u;
  }

  private async assertAnotherAdmin(m: EntityManager, exceptId: string): Promise<void> {
    const [{ n }] = await m.query<Array<{ n: number }>>(
      `SELECT count(*)::int AS n FROM users WHERE role = 'admin' AND NOT disabled AND id <> $1`,
      [exceptId],
    );
    if (n === 0) throw conflict(LAST_ADMIN);
  }
}
