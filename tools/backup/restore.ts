/**
 * `npm run restore -- <file> [--force]`: restores a backup made by `npm run backup`.
 * Agent Monitor must be stopped. The target (DATABASE_URL, or the embedded PostgreSQL under
 * DATA_DIR) must be empty unless --force, which wipes it first (an embedded data directory is
 * kept beside, renamed). Migrations newer than the backup run at the next start.
 * (In the Docker image: `node apps/api/dist/backup-cli.js restore <file> [--force]`.)
 */
import { runCli, runRestore } from '../../apps/api/src/modules/system/backup/cli.js';

runCli('Restore', () => runRestore(process.argv.slice(2)));
