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

  it('moving raw samples into chunks keeps every stored value, and reverting merges duplicates', async () => {
    const url = await createTestDatabase();
    const ds = createDataSource({ url, poolSize: 2 });
    await ds.initialize();
    try {
      await ds.runMigrations({ transaction: 'each' });
      // back to one row per (set, ts): undo the migrations from StoreRawMetricsInChunks on
      const undoToWideRows = async () => {
        const names = ds.migrations.map((m) => m.name);
        const from = names.indexOf('StoreRawMetricsInChunks1796500000001');
        for (let i = from; i < names.length; i++)
          await ds.undoLastMigration({ transaction: 'each' });
      };
      await undoToWideRows();
      await ds.query(`CREATE TABLE metric_raw_p20261101 PARTITION OF metric_raw
                        FOR VALUES FROM ('2026-11-01T00:00:00Z') TO ('2026-11-02T00:00:00Z')`);
      await ds.query(`CREATE TABLE metric_raw_p20261102 PARTITION OF metric_raw
                        FOR VALUES FROM ('2026-11-02T00:00:00Z') TO ('2026-11-03T00:00:00Z')`);
      await ds.query(`INSERT INTO metric_series (id, agent_id, measurement, labels, fields) VALUES
        (1, gen_random_uuid(), 'agent_metrics', '', '{a,b}'),
        (2, gen_random_uuid(), 'agent_metrics', '', '{c}')`);
      // widths grow within a window (a field added later); windows and days split chunks
      await ds.query(`INSERT INTO metric_raw (series_id, ts, vals) VALUES
        (1, '2026-11-01T10:00:00Z', '{1}'),
        (1, '2026-11-01T10:00:10Z', '{2,3}'),
        (1, '2026-11-01T10:14:50Z', '{NULL,4}'),
        (1, '2026-11-01T10:15:00Z', '{5,6}'),
        (2, '2026-11-01T23:59:50Z', '{7}'),
        (2, '2026-11-02T00:00:10Z', '{8}')`);
      const wide = `SELECT series_id, ts, vals FROM metric_raw ORDER BY 1, 2`;
      const before: unknown[] = await ds.query(wide);
      const values = `SELECT series_id, ts, f, v FROM metric_raw_values('{1,2}', '-infinity', 'infinity') ORDER BY 1, 2, 3`;

      await ds.runMigrations({ transaction: 'each' });
      expect(
        await ds.query(
          `SELECT series_id, cardinality(ts)::int AS n FROM metric_raw ORDER BY 1, t0`,
        ),
      ).toEqual([
        { series_id: 1, n: 3 },
        { series_id: 1, n: 1 },
        { series_id: 2, n: 1 },
        { series_id: 2, n: 1 },
      ]);
      const v = (series_id: number, ts: string, f: number, value: number) => ({
        series_id,
        ts: new Date(ts),
        f,
        v: value,
      });
      expect(await ds.query(values)).toEqual([
        v(1, '2026-11-01T10:00:00Z', 1, 1),
        v(1, '2026-11-01T10:00:10Z', 1, 2),
        v(1, '2026-11-01T10:00:10Z', 2, 3),
        v(1, '2026-11-01T10:14:50Z', 2, 4),
        v(1, '2026-11-01T10:15:00Z', 1, 5),
        v(1, '2026-11-01T10:15:00Z', 2, 6),
        v(2, '2026-11-01T23:59:50Z', 1, 7),
        v(2, '2026-11-02T00:00:10Z', 1, 8),
      ]);

      // a later write of 10:00:10 with only field b: b is replaced, a is kept
      await ds.query(`INSERT INTO metric_raw (series_id, t0, ts, vals)
                        VALUES (1, '2026-11-01T10:00:10Z', '{2026-11-01T10:00:10Z}', '{NULL,9}')`);
      expect((await ds.query(values)).slice(1, 3)).toEqual([
        v(1, '2026-11-01T10:00:10Z', 1, 2),
        v(1, '2026-11-01T10:00:10Z', 2, 9),
      ]);
      await undoToWideRows();
      const after: Array<{ vals: Array<number | null> }> = await ds.query(wide);
      expect(after.length).toBe(before.length);
      expect(after[1].vals).toEqual([2, 9]);
      // rows read back padded to their window's width: compare the values
      const strip = (rows: unknown[]) =>
        (rows as Array<{ series_id: number; ts: Date; vals: Array<number | null> }>).map((r) => ({
          ...r,
          vals: r.vals
            .map((x) => x ?? null)
            .join(',')
            .replace(/,+$/, ''),
        }));
      expect(strip(after).filter((_, i) => i !== 1)).toEqual(
        strip(before).filter((_, i) => i !== 1),
      );
      await ds.runMigrations({ transaction: 'each' });
    } finally {
      await ds.destroy();
      await dropTestDatabase(url);
    }
  });
});
