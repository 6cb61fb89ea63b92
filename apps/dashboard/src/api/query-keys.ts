/**
 * Query-key conventions. Every key starts with its domain, so `invalidateQueries({ queryKey:
 * usersKeys.all })` refreshes everything of the domain and a socket handler can patch one list
 * or one detail with `setQueryData` using the same factory:
 *
 *   [domain]                         everything of the domain
 *   [domain, 'list']                 every list
 *   [domain, 'list', params]         one list page with its filters
 *   [domain, 'detail', id]           one record
 *   [domain, <name>, ...args]        anything else (e.g. ['metrics', 'series', agentId, range])
 *
 * Create one set per domain with `createQueryKeys('agents')` in `api/<domain>.queries.ts`.
 */
export function createQueryKeys<D extends string>(domain: D) {
  return {
    all: [domain] as const,
    lists: () => [domain, 'list'] as const,
    list: <P extends object>(params: P) => [domain, 'list', params] as const,
    details: () => [domain, 'detail'] as const,
    detail: (id: string) => [domain, 'detail', id] as const,
    /** Any other key of the domain. */
    key: <A extends readonly unknown[]>(name: string, ...args: A) =>
      [domain, name, ...args] as const,
  };
}

/** Drops empty filter values so `{q: ''}` and `{}` share a cache entry. */
export function cleanParams<P extends object>(params: P): Partial<P> {
  const out: Partial<P> = {};
  for (const [k, v] of Object.entries(params) as [keyof P, P[keyof P]][]) {
    if (v !== undefined && v !== null && v !== '') out[k] = v;
  }
  return out;
}
