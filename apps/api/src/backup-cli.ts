/**
 * Backups without dev tools (the Docker image):
 *   node apps/api/dist/backup-cli.js backup
 *   node apps/api/dist/backup-cli.js restore <file> [--force]
 */
import { runBackup, runCli, runRestore } from './modules/system/backup/cli.js';

const [command, ...args] = process.argv.slice(2);
if (command === 'backup') runCli('Backup', runBackup);
else if (command === 'restore') runCli('Restore', () => runRestore(args));
else {
  console.error('Usage: node apps/api/dist/backup-cli.js backup | restore <file> [--force]');
  process.exit(1);
}
