import { createHash } from 'node:crypto';
import pg from 'pg';
import type { TestApp } from './test-app.js';

/** Writes an API key straight into `api_keys` (no login needed); returns its headers. */
export async function insertKey(
  t: Pick<TestApp, 'sql'>,
  scopes: string[],
  fill = 'R',
): Promise<{ key: string; headers: Record<string, string> }> {
  const key = 'am_' + fill.repeat(40);
  await t.sql(`INSERT INTO api_keys (name, prefix, key_hash, scopes) VALUES ($1, $2, $3, $4)`, [
    `test-${scopes.join('-')}-${fill}`,
    key.slice(0, 11),
    sha256(key),
    scopes,
  ]);
  return { key, headers: { 'x-api-key': key } };
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** The same, straight into a database by URL (suites that manage their own PostgreSQL). */
export async function insertKeyWith(
  url: string,
  scopes: string[],
  fill = 'R',
): Promise<{ key: string; headers: Record<string, string> }> {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  try {
    return await insertKey(
      { sql: async (text, params) => (await pool.query(text, params)).rows },
      scopes,
      fill,
    );
  } finally {
    await pool.end();
  }
}
