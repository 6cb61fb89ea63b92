import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/database/embedded-postgres.js';
import { client } from './support/http.js';
import { insertKey } from './support/root-key.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, dropTestDatabase, startTestApp } from './support/test-app.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');

/** Runs a tools/backup script as `npm run backup|restore` would, with the given environment. */
function tool(
  script: 'backup' | 'restore',
  env: Record<string, string>,
  args: string[] = [],
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const base = { ...process.env };
    delete base.DATABASE_URL;
    const child = spawn(TSX, [path.join(ROOT, `tools/backup/${script}.ts`), ...args], {
      cwd: ROOT,
      env: { ...base, LOG_LEVEL: 'warn', ...env },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
}

async function rowCounts(url: string): Promise<Record<string, number>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const tables = await c.query<{ t: string }>(
      `SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_tables
        WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
    );
    const out: Record<string, number> = {};
    for (const { t } of tables.rows) {
      out[t] = Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${t}`)).rows[0].n);
    }
    return out;
  } finally {
    await c.end();
  }
}

async function recreate(url: string): Promise<void> {
  await dropTestDatabase(url);
  const name = new URL(url).pathname.slice(1);
  const admin = new pg.Client({ connectionString: process.env.AM_TEST_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
}

describe('backup and restore (external PostgreSQL, pg_dump custom format)', () => {
  it('backup → wipe → restore gives identical row counts and a working login; rotation keeps BACKUP_KEEP', async () => {
    const backupDir = mkdtempSync(path.join(os.tmpdir(), 'am-backups-'));
    const t = await startTestApp();
    const url = t.databaseUrl;
    const key = await insertKey(t, ['admin'], 'K');
    await client(t.baseUrl).post(
      '/api/v2/api-keys',
      { name: 'made before the backup', scopes: ['read'] },
      { headers: key.headers },
    );
    await t.close();
    const before = await rowCounts(url);
    expect(before['public.users']).toBeGreaterThanOrEqual(1);
    expect(before['public.api_keys']).toBe(2);

    const env = {
      DATABASE_URL: url,
      BACKUP_DIR: backupDir,
      BACKUP_KEEP: '2',
      DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'am-data-')),
    };
    for (let i = 0; i < 3; i++) {
      const r = await tool('backup', env);
      expect(r.out).toContain('Backup written');
      expect(r.code).toBe(0);
      await new Promise((res) => setTimeout(res, 1100)); // file names carry the second
    }
    const files = readdirSync(backupDir).sort();
    expect(files).toHaveLength(2);
    expect(files[0]).toMatch(/^agent-monitor-\d{8}T\d{6}Z\.dump$/);
    const latest = path.join(backupDir, files[1]);

    await recreate(url);
    expect(await rowCounts(url)).toEqual({});
    const restored = await tool('restore', env, [latest]);
    expect(restored.out).toContain('Restore complete');
    expect(restored.code).toBe(0);
    expect(await rowCounts(url)).toEqual(before);

    // Not into a database that has data, unless --force.
    const refused = await tool('restore', env, [latest]);
    expect(refused.code).toBe(1);
    expect(refused.out).toContain('not empty');
    const forced = await tool('restore', env, [latest, '--force']);
    expect(forced.code).toBe(0);
    expect(await rowCounts(url)).toEqual(before);
    const bad = await tool('restore', env, [path.join(backupDir, 'nope.dump')]);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('does not exist');

    const again = await startTestApp({ databaseUrl: url });
    try {
      const http = client(again.baseUrl);
      const login = await http.post<{ accessToken: string }>('/api/v2/auth/login', {
        email: ADMIN_EMAIL,
        password: ADMIN_PASSWORD,
      });
      expect(login.status).toBe(200);
      const keys = await http.get<{ total: number }>('/api/v2/api-keys', {
        token: login.body.accessToken,
      });
      expect(keys.status).toBe(200);
      expect(keys.body.total).toBe(2);
      expect((await http.get('/api/v2/api-keys', { headers: key.headers })).status).toBe(200);
    } finally {
      await again.close();
      await again.dropDatabase();
    }
  }, 90_000);
});

describe('backup and restore (embedded PostgreSQL under DATA_DIR)', () => {
  it('backs up the embedded server (starting it), and restores it after a wipe', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'am-embedded-'));
    // As root the server runs as the postgres user, which must reach its directory.
    chmodSync(dataDir, 0o755);
    const backupDir = path.join(dataDir, 'backups');
    const pgDir = path.join(dataDir, 'postgres');
    const quiet = { info: () => undefined, warn: () => undefined };
    let db = await startEmbeddedPostgres(pgDir, quiet);
    const exec = async (sql: string) => {
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        return (await c.query(sql)).rows as Array<Record<string, unknown>>;
      } finally {
        await c.end();
      }
    };
    await exec(`CREATE TABLE samples (id int PRIMARY KEY, v double precision)`);
    await exec(`INSERT INTO samples SELECT g, g * 1.5 FROM generate_series(1, 5000) g`);
    await db.stop();

    const env = { DATA_DIR: dataDir, BACKUP_DIR: backupDir, BACKUP_KEEP: '3' };
    const b = await tool('backup', env);
    expect(b.out).toContain('Backup written');
    expect(b.code).toBe(0);
    const file = path.join(backupDir, readdirSync(backupDir)[0]);

    db = await startEmbeddedPostgres(pgDir, quiet);
    await exec('DROP TABLE samples');
    await db.stop();

    const refused = await tool('restore', env, [file]);
    expect(refused.code).toBe(1);
    const r = await tool('restore', env, [file, '--force']);
    expect(r.out).toContain('Restore complete');
    expect(r.code).toBe(0);

    db = await startEmbeddedPostgres(pgDir, quiet);
    try {
      const rows = await exec('SELECT count(*)::int AS n, sum(v) AS s FROM samples');
      expect(rows[0]).toEqual({ n: 5000, s: 1.5 * ((5000 * 5001) / 2) });
    } finally {
      await db.stop();
    }
  }, 120_000);
});
