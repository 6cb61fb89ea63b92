import { createDataSource } from '../src/database/data-source.js';
import { pendingSchemaDiff } from '../src/database/schema-diff.js';
import { createTestDatabase, dropTestDatabase } from './support/test-app.js';

describe('schema', () => {
  it('migrations produce exactly what the entities describe, and every migration reverts', async () => {
    const url = await createTestDatabase();
    const ds = createDataSource({ url, poolSize: 2 });
    await ds.initialize();
    try {
      await ds.runMigrations({ transaction: 'each' });
      const diff = await pendingSchemaDiff(ds);
      // A non-empty diff means an entity changed without a migration: run `npm run migrate -- generate Name`.
      expect(diff.up).toEqual([]);

      for (let i = 0; i < ds.migrations.length; i++)
        await ds.undoLastMigration({ transaction: 'each' });
      const left: Array<{ tablename: string }> = await ds.query(
        `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'`,
      );
      expect(left).toEqual([]);
      await ds.runMigrations({ transaction: 'each' });
    } finally {
      await ds.destroy();
      await dropTestDatabase(url);
    }
  });
});
