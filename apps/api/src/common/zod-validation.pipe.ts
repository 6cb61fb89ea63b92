import { ParseUUIDPipe, PipeTransform } from '@nestjs/common';
import { ZodError, type ZodType } from 'zod';
import { DomainException } from './errors.js';

export interface FieldIssue {
  field: string;
  message: string;
}

export function zodIssues(err: ZodError): FieldIssue[] {
  return err.issues.map((i) => {
    const field = i.path.map(String).join('.') || '(body)';
    let message = i.message;
    if (i.code === 'unrecognized_keys') message = `unknown field(s): ${i.keys.join(', ')}`;
    return { field, message: field === '(body)' ? message : `${field}: ${message}` };
  });
}

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
