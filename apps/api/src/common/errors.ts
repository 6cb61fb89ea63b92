import { HttpStatus } from '@nestjs/common';

/**
 * Domain failures carry a stable code; the exception filter maps them to HTTP. Services
 * throw these (never HttpException) so a reader sees what went wrong, not a status number.
 */
export type ErrorCode =
  | 'VALIDATION'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'RATE_LIMITED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNAVAILABLE'
  | 'UNPROCESSABLE';

const STATUS: Record<ErrorCode, number> = {
  VALIDATION: HttpStatus.BAD_REQUEST,
  NOT_FOUND: HttpStatus.NOT_FOUND,
  CONFLICT: HttpStatus.CONFLICT,
  UNAUTHENTICATED: HttpStatus.UNAUTHORIZED,
  FORBIDDEN: HttpStatus.FORBIDDEN,
  RATE_LIMITED: HttpStatus.TOO_MANY_REQUESTS,
  PAYLOAD_TOO_LARGE: HttpStatus.PAYLOAD_TOO_LARGE,
  UNAVAILABLE: HttpStatus.SERVICE_UNAVAILABLE,
  UNPROCESSABLE: HttpStatus.UNPROCESSABLE_ENTITY,
};

export class DomainException extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    /** Seconds, sent as Retry-After (429 and 503). */
    readonly retryAfterSec?: number,
  ) {
    super(message);
  }

  get status(): number {
    return STATUS[this.code];
  }
}

export const notFound = (what: string, id?: string) =>
  new DomainException('NOT_FOUND', id ? `${what} ${id} not found` : `${what} not found`);
export const forbidden = (message = 'You are not allowed to do this') =>
  new DomainException('FORBIDDEN', message);
export const unauthenticated = (message = 'Authentication required') =>
  new DomainException('UNAUTHENTICATED', message);
export const badRequest = (message: string, details?: unknown) =>
  new DomainException('VALIDATION', message, details);
export const conflict = (message: string, details?: unknown) =>
  new DomainException('CONFLICT', message, details);
