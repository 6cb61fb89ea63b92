import { z } from 'zod';

/** The one error body every endpoint answers with. */
export interface ErrorResponse {
  statusCode: number;
  error: string;
  message: string;
  details?: unknown;
}

/** Every list endpoint wraps its rows in this page envelope. */
export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  limit: number;
}

export const PageQuerySchema = z.object({
  page: z.coerce.number().int().min(1).max(1_000_000).default(1),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
export type PageQuery = z.infer<typeof PageQuerySchema>;

export const UuidSchema = z.uuid();
export const IsoDateSchema = z.iso.datetime({ offset: true });
/** An IANA time zone name this runtime knows (e.g. `Europe/Berlin`). */
export const TimeZoneSchema = z
  .string()
  .max(64)
  .refine((tz) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  }, 'unknown time zone');
