import { ParseUUIDPipe, PipeTransform } from '@nestjs/common';
import type { ZodType } from 'zod';
import { DomainException } from './errors.js';
import { zodIssues } from './zod-issues.js';

/** Validates and transforms one argument with its contract schema; 400 names the field. */
export class ZodValidationPipe<T> implements PipeTransform<unknown, T> {
  constructor(private readonly schema: ZodType<T>) {}

  transform(value: unknown): T {
    const r = this.schema.safeParse(value ?? {});
    if (r.success) return r.data;
    const details = zodIssues(r.error);
    throw new DomainException('VALIDATION', details.map((d) => d.message).join('; '), details);
  }
}

/** Parses with a schema from a service (not a pipe), with the same 400. */
export function parseOrThrow<T>(schema: ZodType<T>, value: unknown): T {
  return new ZodValidationPipe(schema).transform(value);
}

/** `@Param('id', uuidParam)`: a malformed id is a 400 naming the field, not a 404 or a 500. */
export const uuidParam = new ParseUUIDPipe({
  exceptionFactory: () => new DomainException('VALIDATION', 'id: must be a UUID'),
});
