/**
 * `npm run backup`: one backup of the configured database into BACKUP_DIR (default ./backups),
 * keeping the newest BACKUP_KEEP. With DATABASE_URL: pg_dump custom format. Without it, the
 * embedded PostgreSQL under DATA_DIR (started for the occasion if Agent Monitor is not running):
 * pg_dump when one at least as new as the server is found, else a hot physical copy.
 */
import path from 'node:path';
import { loadConfig } from '../../apps/api/src/config/config.js';
import { startEmbeddedPostgres } from '../../apps/api/src/database/embedded-postgres.js';
import {
  createBackup,
  runningEmbeddedUrl,
} from '../../apps/api/src/modules/system/backup/backup.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const say = (m: string) => console.log(m);
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

main().catch((e: unknown) => {
  console.error(`Backup failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
