import { execFile, spawn } from 'node:child_process';
import {
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { findPgTool } from './pg-tools.js';

const run = promisify(execFile);

export const BACKUP_PREFIX = 'agent-monitor-';
/** pg_dump custom format (logical; restore with pg_restore into any newer server). */
export const DUMP_SUFFIX = '.dump';
/** Hot physical copy of the embedded server's data directory (when no pg_dump is new enough). */
export const PGDATA_SUFFIX = '.pgdata.tar.gz';

export interface BackupOptions {
  /** The database to back up. */
  url: string;
  dir: string;
  keep: number;
  /** PG_BIN_DIR: where a pg_dump at least as new as the server lives. */
  binDir?: string;
  /** The embedded server's data directory, when `url` is the embedded server on this machine. */
  embeddedPgdata?: string;
  log?: (msg: string) => void;
}

export interface BackupResult {
  file: string;
  bytes: number;
  method: 'pg_dump' | 'physical';
  removed: string[];
}

/** Connection settings as libpq environment variables: no password on a command line. */
export function libpqEnv(url: string): NodeJS.ProcessEnv {
  const u = new URL(url);
  return {
    ...process.env,
    PGHOST: u.hostname,
    PGPORT: u.port || '5432',
    PGUSER: decodeURIComponent(u.username || 'postgres'),
    PGPASSWORD: decodeURIComponent(u.password),
    PGDATABASE: decodeURIComponent(u.pathname.slice(1)) || 'postgres',
    PGSSLMODE: u.searchParams.get('sslmode') ?? process.env.PGSSLMODE ?? 'prefer',
    PGAPPNAME: 'agent-monitor-backup',
  };
}

export async function serverMajor(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    const r = await c.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
    const major = Math.floor(Number(r.rows[0].v) / 10000);
    if (!Number.isInteger(major) || major < 9)
      throw new Error(`unexpected server version ${r.rows[0].v}`);
    return major;
  } finally {
    await c.end();
  }
}

function stamp(d = new Date()): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

export async function createBackup(o: BackupOptions): Promise<BackupResult> {
  const log = o.log ?? (() => undefined);
  mkdirSync(o.dir, { recursive: true });
  const major = await serverMajor(o.url);
  const dump = findPgTool('pg_dump', major, o.binDir);
  let file: string;
  let method: BackupResult['method'];
  if (dump) {
    file = path.join(path.resolve(o.dir), `${BACKUP_PREFIX}${stamp()}${DUMP_SUFFIX}`);
    const tmp = `${file}.partial`;
    log(`pg_dump ${dump.major} (${dump.bin}) → ${file}`);
    try {
      await run(
        dump.bin,
        ['--format=custom', '--compress=6', '--no-owner', '--no-privileges', `--file=${tmp}`],
        { env: libpqEnv(o.url), maxBuffer: 16 * 1024 * 1024 },
      );
    } catch (e) {
      rmSync(tmp, { force: true });
      const stderr = (e as { stderr?: string }).stderr;
      throw new Error(`pg_dump failed: ${(stderr || (e as Error).message).trim()}`, { cause: e });
    }
    renameSync(tmp, file);
    method = 'pg_dump';
  } else if (o.embeddedPgdata) {
    file = path.join(path.resolve(o.dir), `${BACKUP_PREFIX}${stamp()}${PGDATA_SUFFIX}`);
    log(
      `No pg_dump ≥ ${major} on this machine: hot physical copy of the embedded server → ${file}`,
    );
    await physicalBackup(o.url, o.embeddedPgdata, file);
    method = 'physical';
  } else {
    throw new Error(
      `The server is PostgreSQL ${major} and no pg_dump ≥ ${major} was found: install ` +
        `postgresql-client-${major} or set PG_BIN_DIR to its bin directory`,
    );
  }
  const removed = rotate(o.dir, o.keep);
  return { file, bytes: statSync(file).size, method, removed };
}

/** Keeps the newest `keep` backups in `dir` (both kinds), deletes older ones. */
export function rotate(dir: string, keep: number): string[] {
  const files = listBackups(dir);
  const old = files.slice(0, Math.max(0, files.length - keep));
  for (const f of old) rmSync(f, { force: true });
  return old;
}

/** Backups in `dir`, oldest first (names sort by their UTC time stamp). */
export function listBackups(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter(
      (f) => f.startsWith(BACKUP_PREFIX) && (f.endsWith(DUMP_SUFFIX) || f.endsWith(PGDATA_SUFFIX)),
    )
    .sort()
    .map((f) => path.join(path.resolve(dir), f));
}

/**
 * PostgreSQL's non-exclusive low-level base backup over SQL: pg_backup_start, copy the data
 * directory, pg_backup_stop, then the WAL written meanwhile and the returned backup_label.
 * Starting a server on the restored directory replays that WAL to a consistent state.
 */
async function physicalBackup(url: string, pgdata: string, file: string): Promise<void> {
  const staging = path.join(os.tmpdir(), `am-backup-${process.pid}-${Date.now()}`);
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    mkdirSync(path.join(staging, 'pgdata'), { recursive: true, mode: 0o700 });
    await c.query(`SELECT pg_backup_start('agent-monitor', true)`);
    let label: { labelfile: string; spcmapfile: string | null };
    try {
      await tarCopy(pgdata, path.join(staging, 'pgdata'), [
        './pg_wal',
        './postmaster.pid',
        './postmaster.opts',
      ]);
    } finally {
      const r = await c.query<{ labelfile: string; spcmapfile: string | null }>(
        'SELECT labelfile, spcmapfile FROM pg_backup_stop(false)',
      );
      label = r.rows[0];
    }
    // WAL from the backup's checkpoint to its end: copied after pg_backup_stop.
    mkdirSync(path.join(staging, 'pgdata', 'pg_wal'), { recursive: true, mode: 0o700 });
    await tarCopy(path.join(pgdata, 'pg_wal'), path.join(staging, 'pgdata', 'pg_wal'), []);
    writeFileSync(path.join(staging, 'pgdata', 'backup_label'), label.labelfile);
    if (label.spcmapfile)
      writeFileSync(path.join(staging, 'pgdata', 'tablespace_map'), label.spcmapfile);
    const passwordFile = path.join(path.dirname(pgdata), 'password');
    if (existsSync(passwordFile))
      writeFileSync(path.join(staging, 'password'), readFileSync(passwordFile));
    const tmp = `${file}.partial`;
    await run('tar', ['-czf', tmp, '-C', staging, '.']);
    renameSync(tmp, file);
  } finally {
    await c.end().catch(() => undefined);
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Copies a live directory; files that vanish or change while read are expected (WAL covers them). */
function tarCopy(from: string, to: string, exclude: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const src = spawn(
      'tar',
      [
        '-cf',
        '-',
        '--ignore-failed-read',
        '--warning=no-file-changed',
        '--warning=no-file-removed',
        ...exclude.map((e) => `--exclude=${e}`),
        '-C',
        from,
        '.',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const dst = spawn('tar', ['-xf', '-', '-C', to], { stdio: ['pipe', 'ignore', 'pipe'] });
    src.stdout.pipe(dst.stdin);
    let err = '';
    src.stderr.on('data', (d: Buffer) => (err += d.toString()));
    dst.stderr.on('data', (d: Buffer) => (err += d.toString()));
    // Both ends must have exited (in either order: the reader may see EOF and exit before the
    // writer's exit is reported).
    const codes = [
      new Promise<number | null>((r) => src.on('close', r)),
      new Promise<number | null>((r) => dst.on('close', r)),
    ];
    void Promise.all(codes).then(([srcCode, dstCode]) => {
      // tar exits 1 when a file changed while being read: fine for a live data directory.
      if (dstCode === 0 && (srcCode === 0 || srcCode === 1)) resolve();
      else reject(new Error(`copying ${from} failed (tar ${srcCode}/${dstCode}): ${err.trim()}`));
    });
  });
}

export interface RestoreOptions {
  url: string;
  file: string;
  /** Wipe a database that is not empty first. */
  force: boolean;
  binDir?: string;
  log?: (msg: string) => void;
}

/** Restores a `.dump` (pg_restore) into the database at `url`, which must be empty unless `force`. */
export async function restoreDump(o: RestoreOptions): Promise<void> {
  const log = o.log ?? (() => undefined);
  const major = await serverMajor(o.url);
  const tool = findPgTool('pg_restore', major, o.binDir) ?? findPgTool('pg_restore', 0, o.binDir);
  if (!tool)
    throw new Error('pg_restore was not found: install postgresql-client or set PG_BIN_DIR');
  const c = new pg.Client({ connectionString: o.url });
  await c.connect();
  try {
    const r = await c.query<{ n: string; schemas: string[] }>(
      `SELECT count(*)::text AS n, coalesce(array_agg(DISTINCT n.nspname::text), '{}') AS schemas
         FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
          AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'`,
    );
    if (Number(r.rows[0].n) > 0) {
      if (!o.force) {
        throw new Error(
          `The target database is not empty (${r.rows[0].n} relations in ${r.rows[0].schemas.join(', ')}); ` +
            'restore into a fresh database or pass --force to wipe it first',
        );
      }
      log(`--force: dropping schemas ${r.rows[0].schemas.join(', ')}`);
      for (const s of r.rows[0].schemas)
        await c.query(`DROP SCHEMA IF EXISTS "${s.replace(/"/g, '""')}" CASCADE`);
      await c.query('CREATE SCHEMA IF NOT EXISTS public');
    }
  } finally {
    await c.end();
  }
  log(`pg_restore ${tool.major} (${tool.bin}) ← ${o.file}`);
  await run(
    tool.bin,
    [
      '--no-owner',
      '--no-privileges',
      '--exit-on-error',
      '--single-transaction',
      `--dbname=${libpqEnv(o.url).PGDATABASE}`,
      o.file,
    ],
    { env: libpqEnv(o.url), maxBuffer: 16 * 1024 * 1024 },
  ).catch((e: { stderr?: string; message: string }) => {
    throw new Error(`pg_restore failed: ${(e.stderr ?? e.message).trim()}`);
  });
}

/**
 * Restores a physical backup into the embedded server's directory `dir` (DATA_DIR/postgres),
 * which must not be running. The current data directory is kept beside it, renamed.
 */
export async function restorePhysical(o: {
  dir: string;
  file: string;
  force: boolean;
  log?: (m: string) => void;
}): Promise<string | null> {
  const log = o.log ?? (() => undefined);
  const pgdata = path.join(o.dir, 'pgdata');
  const pidFile = path.join(pgdata, 'postmaster.pid');
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    if (pid > 0 && isAlive(pid)) {
      throw new Error('The embedded PostgreSQL is running: stop Agent Monitor before restoring');
    }
  }
  let keptAs: string | null = null;
  if (existsSync(path.join(pgdata, 'PG_VERSION'))) {
    if (!o.force) {
      throw new Error(
        `${pgdata} holds a database; pass --force to replace it (it is kept, renamed)`,
      );
    }
    keptAs = `${pgdata}.before-restore-${stamp()}`;
    renameSync(pgdata, keptAs);
    log(`Kept the previous data directory as ${keptAs}`);
  }
  const staging = `${pgdata}.restoring`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true, mode: 0o700 });
  await run('tar', ['-xzf', o.file, '-C', staging]);
  renameSync(path.join(staging, 'pgdata'), pgdata);
  if (existsSync(path.join(staging, 'password'))) {
    writeFileSync(path.join(o.dir, 'password'), readFileSync(path.join(staging, 'password')), {
      mode: 0o600,
    });
  }
  rmSync(staging, { recursive: true, force: true });
  if (os.userInfo().uid === 0) {
    try {
      const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
      const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
      await run('chown', ['-R', `${uid}:${gid}`, pgdata]);
      chownSync(pgdata, uid, gid);
    } catch {
      // no postgres user yet: the launcher creates it and chowns on start
    }
  }
  log(`Restored ${o.file} into ${pgdata}; the next start replays its WAL`);
  return keptAs;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A running embedded server's URL, from its lock file (port) and password file. */
export function runningEmbeddedUrl(dir: string): string | null {
  const pidFile = path.join(dir, 'pgdata', 'postmaster.pid');
  if (!existsSync(pidFile)) return null;
  const lines = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!(pid > 0 && isAlive(pid) && port > 0)) return null;
  const password = readFileSync(path.join(dir, 'password'), 'utf8').trim();
  return `postgres://agent_monitor:${encodeURIComponent(password)}@127.0.0.1:${port}/agent_monitor`;
}
