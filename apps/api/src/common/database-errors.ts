/**
 * Whether an error means "PostgreSQL cannot be reached right now" (as opposed to a bad
 * query): refused/reset connections, pool connect timeouts, server shutting down, too many
 * connections. These answer 503 + Retry-After so clients retry; the pool reconnects by itself.
 */
const NET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

// SQLSTATE classes 08 (connection exception) and 57P (operator intervention: admin/crash
// shutdown, cannot connect now), 53300 too many connections, 40001/40P01 are not here: those
// are transaction conflicts the caller may retry itself.
const SQLSTATE = /^(08...|57P0[1-4]|53300)$/;

const MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Connection terminated unexpectedly',
  'the database system is starting up',
  'the database system is shutting down',
  'Cannot use a pool after calling end',
];

export const DB_RETRY_AFTER_SEC = 5;

export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 3) return false;
  const e = err as { code?: unknown; message?: unknown; driverError?: unknown; cause?: unknown };
  if (typeof e.code === 'string' && (NET_CODES.has(e.code) || SQLSTATE.test(e.code))) return true;
  if (typeof e.message === 'string' && MESSAGES.some((m) => (e.message as string).includes(m))) {
    return true;
  }
  // TypeORM wraps driver errors (QueryFailedError.driverError); AggregateError from net.
  if (e.driverError && isDatabaseUnavailable(e.driverError, depth + 1)) return true;
  if (e.cause && isDatabaseUnavailable(e.cause, depth + 1)) return true;
  const errors = (err as { errors?: unknown }).errors;
  return Array.isArray(errors) && errors.some((x) => isDatabaseUnavailable(x, depth + 1));
}
