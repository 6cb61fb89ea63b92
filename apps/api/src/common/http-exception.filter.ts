import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ZodError } from 'zod';
import { DB_RETRY_AFTER_SEC, isDatabaseUnavailable } from './database-errors.js';
import { DomainException } from './errors.js';
import { errorBody } from './error-body.js';
import { zodIssues } from './zod-issues.js';

/** Maps every error to `{statusCode, error, message, details?}`; internals never leak. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const ctx = host.switchToHttp();
    const reply = ctx.getResponse<FastifyReply>();
    const request = ctx.getRequest<FastifyRequest>();
    const { status, body, retryAfter } = toResponse(exception);
    if (status >= 500) {
      this.logger.error(
        { err: exception, reqId: request.id, url: request.url },
        exception instanceof Error ? exception.stack : String(exception),
      );
    }
    if (retryAfter !== undefined) void reply.header('Retry-After', String(retryAfter));
    void reply.status(status).send(body);
  }
}

export function toResponse(exception: unknown): {
  status: number;
  body: ReturnType<typeof errorBody>;
  retryAfter?: number;
} {
  if (exception instanceof DomainException) {
    return {
      status: exception.status,
      body: errorBody(exception.status, exception.message, exception.details),
      retryAfter: exception.retryAfterSec,
    };
  }
  if (exception instanceof ZodError) {
    const details = zodIssues(exception);
    return { status: 400, body: errorBody(400, details[0]?.message ?? 'Invalid input', details) };
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const res = exception.getResponse();
    const message =
      typeof res === 'string'
        ? res
        : typeof res === 'object' && res && 'message' in res
          ? String(Array.isArray(res.message) ? res.message.join('; ') : res.message)
          : exception.message;
    return { status, body: errorBody(status, message) };
  }
  // Fastify's own errors (body too large, bad JSON, unsupported media type) carry statusCode.
  const fst = exception as { statusCode?: number; code?: string; message?: string };
  if (typeof fst?.statusCode === 'number' && fst.statusCode >= 400 && fst.statusCode < 500) {
    return { status: fst.statusCode, body: errorBody(fst.statusCode, fastifyMessage(fst)) };
  }
  // PostgreSQL unreachable: nothing was committed; tell the client to come back.
  if (isDatabaseUnavailable(exception)) {
    return {
      status: 503,
      body: errorBody(503, 'The database is unavailable; retry shortly'),
      retryAfter: DB_RETRY_AFTER_SEC,
    };
  }
  return { status: 500, body: errorBody(500, 'Internal server error') };
}

function fastifyMessage(e: { code?: string; message?: string }): string {
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'Request body is too large';
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'Request body is not valid JSON';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'Unsupported Content-Type';
    default:
      return e.message?.replace(/^FST_\w+:\s*/, '') ?? 'Bad request';
  }
}
