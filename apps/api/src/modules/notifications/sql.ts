import type { DataSource, EntityManager } from 'typeorm';

type Queryable = Pick<EntityManager | DataSource, 'query'>;

/**
 * Raw SQL returning rows, whatever the statement: TypeORM answers UPDATE/DELETE with
 * `[rows, rowCount]` and everything else with `rows`. Rows are objects, never arrays, so the
 * shape tells the two apart.
 */
export async function sqlRows<T>(m: Queryable, text: string, params: unknown[] = []): Promise<T[]> {
  const r = (await m.query(text, params)) as unknown;
  if (Array.isArray(r) && r.length === 2 && Array.isArray(r[0]) && typeof r[1] === 'number') {
    return r[0] as T[];
  }
  return r as T[];
}

/** Rows affected by an UPDATE/DELETE (without RETURNING too). */
export async function sqlCount(
  m: Queryable,
  text: string,
  params: unknown[] = [],
): Promise<number> {
  const r = (await m.query(text, params)) as unknown;
  if (Array.isArray(r) && r.length === 2 && Array.isArray(r[0]) && typeof r[1] === 'number')
    return r[1];
  return Array.isArray(r) ? r.length : 0;
}
