/**
 * `npm run restore -- <file> [--force]`: restores a backup made by `npm run backup`.
 * Agent Monitor must be stopped. The target (DATABASE_URL, or the embedded PostgreSQL under
 * DATA_DIR) must be empty unless --force, which wipes it first (an embedded data directory is
 * kept beside, renamed). Migrations newer than the backup run at the next start.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../apps/api/src/config/config.js';
import { startEmbeddedPostgres } from '../../apps/api/src/database/embedded-postgres.js';
import {
  DUMP_SUFFIX,
  PGDATA_SUFFIX,
  restoreDump,
  restorePhysical,
  runningEmbeddedUrl,
} from '../../apps/api/src/modules/system/backup/backup.js';

const USAGE = 'Usage: npm run restore -- <backup file> [--force]';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const force = args.includes('--force');
  const files = args.filter((a) => !a.startsWith('--'));
  if (files.length !== 1 || args.some((a) => a.startsWith('--') && a !== '--force')) {
    throw new Error(USAGE);
  }
  const file = path.resolve(files[0]);
  if (!existsSync(file)) throw new Error(`${file} does not exist`);
  const config = loadConfig();
  const say = (m: string) => console.log(m);
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
  if (!file.endsWith(DUMP_SUFFIX))
    throw new Error(`${file} is not a ${DUMP_SUFFIX} or ${PGDATA_SUFFIX} backup`);

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

main().catch((e: unknown) => {
  console.error(`Restore failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
