/**
 * `npm run backup`: one backup of the configured database into BACKUP_DIR (default ./backups),
 * keeping the newest BACKUP_KEEP. With DATABASE_URL: pg_dump custom format. Without it, the
 * embedded PostgreSQL under DATA_DIR (started for the occasion if Agent Monitor is not running):
 * pg_dump when one at least as new as the server is found, else a hot physical copy.
 * (In the Docker image: `node apps/api/dist/backup-cli.js backup`.)
 */
import { runBackup, runCli } from '../../apps/api/src/modules/system/backup/cli.js';

runCli('Backup', runBackup);
