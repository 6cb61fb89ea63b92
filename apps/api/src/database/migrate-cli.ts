/**
 * `npm run migrate [up|down|status|generate <Name>]`: applies, reverts or lists migrations
 * against DATABASE_URL (or the embedded PostgreSQL under DATA_DIR). `generate` writes a new
 * migration with what the entities need beyond the current migrations (developer aid).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../config/config.js';
import { createDataSource } from './data-source.js';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import { pendingSchemaDiff } from './schema-diff.js';

const log = { info: (m: string) => console.log(m), warn: (m: string) => console.warn(m) };

async function main(): Promise<number> {
  const [command = 'up', arg] = process.argv.slice(2);
  const config = loadConfig();
  const embedded = config.DATABASE_URL
    ? null
    : await startEmbeddedPostgres(path.join(config.dataDir, 'postgres'), log);
  const ds = createDataSource({
    url: config.DATABASE_URL ?? embedded!.url,
    poolSize: 2,
    applicationName: 'agent-monitor-migrate',
  });
  await ds.initialize();
  try {
    switch (command) {
      case 'up': {
        const done = await ds.runMigrations({ transaction: 'each' });
        console.log(
          done.length ? `Applied: ${done.map((m) => m.name).join(', ')}` : 'Schema is up to date.',
        );
        return 0;
      }
      case 'down': {
        await ds.undoLastMigration({ transaction: 'each' });
        console.log('Reverted the last migration.');
        return 0;
      }
      case 'status': {
        const applied = new Set(
          (await ds.query(`SELECT name FROM schema_migrations`).catch(() => [])).map(
            (r: { name: string }) => r.name,
          ),
        );
        for (const m of ds.migrations)
          console.log(`${applied.has(m.name!) ? '[x]' : '[ ]'} ${m.name}`);
        return 0;
      }
      case 'generate': {
        if (!arg || !/^[A-Z][A-Za-z0-9]+$/.test(arg)) {
          console.error('usage: migrate generate <CamelCaseName>');
          return 2;
        }
        await ds.runMigrations({ transaction: 'each' });
        const diff = await pendingSchemaDiff(ds);
        if (!diff.up.length) {
          console.log('No changes: entities and migrations agree.');
          return 0;
        }
        const ts = Date.now();
        const cls = `${arg}${ts}`;
        const q = (s: string) => `    await q.query(\`${s.replace(/\s+/g, ' ').trim()}\`);`;
        const body = `import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ${cls} implements MigrationInterface {
  name = '${cls}';

  async up(q: QueryRunner): Promise<void> {
${diff.up.map(q).join('\n')}
  }

  async down(q: QueryRunner): Promise<void> {
${diff.down.map(q).join('\n')}
  }
}
`;
        const dir = path.join(
          path.dirname(fileURLToPath(import.meta.url)),
          '../../src/database/migrations',
        );
        const file = path.join(dir, `${ts}-${arg}.ts`);
        writeFileSync(file, body);
        console.log(`Wrote ${file}; add it to migrations/index.ts`);
        return 0;
      }
      default:
        console.error(`unknown command ${command}; use up, down, status or generate <Name>`);
        return 2;
    }
  } finally {
    await ds.destroy();
    await embedded?.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof ConfigError ? err.message : err);
    process.exit(1);
  },
);
