import type { DataSource } from 'typeorm';

/**
 * What `migration:generate` would write: the SQL that would bring the database (migrated)
 * up to the entities. Empty means entities and migrations agree.
 */
export async function pendingSchemaDiff(ds: DataSource): Promise<{ up: string[]; down: string[] }> {
  const sql = await ds.driver.createSchemaBuilder().log();
  return {
    up: sql.upQueries.map((q) => q.query),
    down: sql.downQueries.map((q) => q.query).reverse(),
  };
}
