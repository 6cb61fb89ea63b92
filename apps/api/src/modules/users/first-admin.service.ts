import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { AuditService } from '../audit/audit.service.js';
import { PasswordsService } from '../auth/passwords.service.js';
import { passwordProblem } from '../auth/password-policy.js';
import { ADMIN_LOCK_KEY } from './users.service.js';

export const DEFAULT_ADMIN_EMAIL = 'admin@localhost';

/**
 * First boot: with no users at all, creates an admin from ADMIN_EMAIL / ADMIN_PASSWORD, or
 * with a generated password printed once to stdout. Runs after migrations (TypeORM runs
 * them while the module graph initialises); safe with several instances booting at once
 * (the admin advisory lock serialises them; later ones see the user and do nothing).
 */
@Injectable()
export class FirstAdminService implements OnApplicationBootstrap {
  private readonly logger = new Logger('FirstAdmin');

  constructor(
    private readonly db: DataSource,
    private readonly passwords: PasswordsService,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.ensure();
  }

  /** Returns the created admin's email, or null when users already existed. */
  async ensure(): Promise<string | null> {
    const given = this.config.ADMIN_PASSWORD;
    if (given) {
      const problem = passwordProblem(given, this.config.ADMIN_EMAIL);
      if (problem) throw new Error(`Invalid configuration: ADMIN_PASSWORD ${problem}`);
    }
    const [{ any }] = await this.db.query<Array<{ any: boolean }>>(
      `SELECT EXISTS (SELECT 1 FROM users) AS any`,
    );
    if (any) return null;
    const email = (this.config.ADMIN_EMAIL ?? DEFAULT_ADMIN_EMAIL).toLowerCase();
    const password = given ?? generatePassword();
    const hash = await this.passwords.hash(password);
    const created = await this.db.transaction(async (m) => {
      await m.query(`SELECT pg_advisory_xact_lock($1)`, [ADMIN_LOCK_KEY]);
      const rows = await m.query<Array<{ id: string }>>(
        `INSERT INTO users (email, name, role, password_hash, password_changed_at)
         SELECT $1, 'Administrator', 'admin', $2, now()
          WHERE NOT EXISTS (SELECT 1 FROM users) RETURNING id`,
        [email, hash],
      );
      if (!rows[0]) return false;
      await this.audit.record(m, null, {
        action: 'user.create_first_admin',
        resourceType: 'user',
        resourceId: rows[0].id,
        changes: { email, generatedPassword: !given },
      });
      return true;
    });
    if (!created) return null;
    if (given) {
      this.logger.log(`Created the first admin ${email} (password from ADMIN_PASSWORD)`);
    } else {
      const url = this.config.PUBLIC_URL ?? `http://localhost:${this.config.PORT}`;
      process.stdout.write(firstAdminBanner(email, password, url));
    }
    return email;
  }
}

/** 24 characters from a 56-letter alphabet without look-alikes: ~139 bits. */
export function generatePassword(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  let out = '';
  while (out.length < 24) {
    for (const b of randomBytes(32)) {
      if (b >= 224) continue; // 224 = 4 × 56: no modulo bias
      out += alphabet[b % 56];
      if (out.length === 24) break;
    }
  }
  return out;
}

export function firstAdminBanner(email: string, password: string, url: string): string {
  const lines = [
    'Agent Monitor: first start, an admin account was created',
    '',
    `  URL:       ${url}`,
    `  Email:     ${email}`,
    `  Password:  ${password}`,
    '',
    'This password is shown only once. Sign in and change it',
    '(profile menu → Change password), or set ADMIN_EMAIL and',
    'ADMIN_PASSWORD before the first start next time.',
  ];
  const width = Math.max(...lines.map((l) => l.length)) + 2;
  const bar = '═'.repeat(width);
  return (
    `\n╔${bar}╗\n` + lines.map((l) => `║ ${l.padEnd(width - 1)}║`).join('\n') + `\n╚${bar}╝\n\n`
  );
}
