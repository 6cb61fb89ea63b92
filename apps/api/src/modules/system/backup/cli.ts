import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../../config/config.js';
import { startEmbeddedPostgres } from '../../../database/embedded-postgres.js';
import {
  DUMP_SUFFIX,
  PGDATA_SUFFIX,
  createBackup,
  restoreDump,
  restorePhysical,
  runningEmbeddedUrl,
} from './backup.js';

/**
 * `npm run backup` / `npm run restore` and, in the Docker image (no dev tools there),
 * `node apps/api/dist/backup-cli.js backup|restore <file> [--force]`.
 */
const say = (m: string) => console.log(m);

/** One backup of the configured database into BACKUP_DIR, keeping BACKUP_KEEP. */
export async function runBackup(): Promise<void> {
  const config = loadConfig();
  let url = config.DATABASE_URL ?? null;
  let stop: (() => Promise<void>) | null = null;
  const embeddedDir = path.join(config.dataDir, 'postgres');
  if (!url) {
    url = runningEmbeddedUrl(embeddedDir);
    if (url) say(`Using the running embedded PostgreSQL under ${embeddedDir}`);
    else {
      say(`Starting the embedded PostgreSQL under ${embeddedDir} for the backup`);
      const db = await startEmbeddedPostgres(embeddedDir, { info: say, warn: say });
      url = db.url;
      stop = db.stop;
    }
  }
  try {
    const r = await createBackup({
      url,
      dir: config.BACKUP_DIR,
      keep: config.BACKUP_KEEP,
      binDir: config.PG_BIN_DIR,
      embeddedPgdata: config.DATABASE_URL ? undefined : path.join(embeddedDir, 'pgdata'),
      log: say,
    });
    say(`Backup written: ${r.file} (${(r.bytes / 1024).toFixed(1)} KiB, ${r.method})`);
    for (const f of r.removed) say(`Rotated out: ${f}`);
  } finally {
    await stop?.();
  }
}

const USAGE = 'Usage: npm run restore -- <backup file> [--force]';

/** Restores a backup made by runBackup; the target must be empty unless --force. */
export async function runRestore(args: string[]): Promise<void> {
  const force = args.includes('--force');
  const files = args.filter((a) => !a.startsWith('--'));
  if (files.length !== 1 || args.some((a) => a.startsWith('--') && a !== '--force')) {
    throw new Error(USAGE);
  }
  const file = path.resolve(files[0]);
  if (!existsSync(file)) throw new Error(`${file} does not exist`);
  const config = loadConfig();
  const embeddedDir = path.join(config.dataDir, 'postgres');

  if (file.endsWith(PGDATA_SUFFIX)) {
    if (config.DATABASE_URL) {
      throw new Error(
        'This is a physical copy of an embedded server: restore it without DATABASE_URL',
      );
    }
    await restorePhysical({ dir: embeddedDir, file, force, log: say });
    const db = await startEmbeddedPostgres(embeddedDir, { info: say, warn: say });
    await db.stop();
    say('Restore complete: the embedded server recovered and stopped cleanly');
    return;
  }
  if (!file.endsWith(DUMP_SUFFIX)) {
    throw new Error(`${file} is not a ${DUMP_SUFFIX} or ${PGDATA_SUFFIX} backup`);
  }
  if (config.DATABASE_URL) {
    await restoreDump({
      url: config.DATABASE_URL,
      file,
      force,
      binDir: config.PG_BIN_DIR,
      log: say,
    });
  } else {
    if (runningEmbeddedUrl(embeddedDir)) {
      throw new Error('The embedded PostgreSQL is running: stop Agent Monitor before restoring');
    }
    const db = await startEmbeddedPostgres(embeddedDir, { info: say, warn: say });
    try {
      await restoreDump({ url: db.url, file, force, binDir: config.PG_BIN_DIR, log: say });
    } finally {
      await db.stop();
    }
  }
  say(`Restore complete from ${file}`);
}

/** Runs `fn`, printing a one-line error and exiting 1 on failure. */
export function runCli(what: string, fn: () => Promise<void>): void {
  fn().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(`${what} failed: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(1);
    },
  );
}
