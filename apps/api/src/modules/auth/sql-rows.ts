/**
 * TypeORM's postgres driver answers UPDATE/DELETE … RETURNING with `[rows, affectedCount]`
 * and SELECT/INSERT with the rows alone; this gives the rows either way.
 */
export function returnedRows<T>(res: unknown): T[] {
  if (
    Array.isArray(res) &&
    res.length === 2 &&
    Array.isArray(res[0]) &&
    typeof res[1] === 'number'
  ) {
    return res[0] as T[];
  }
  return res as T[];
}
