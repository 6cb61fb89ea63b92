import {
  CallHandler,
  ExecutionContext,
  Injectable,
  Logger,
  NestInterceptor,
  SetMetadata,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { Observable, from, lastValueFrom } from 'rxjs';
import { requestContext } from '../../common/access.js';
import { toResponse } from '../../common/http-exception.filter.js';
import { AuditService } from './audit.service.js';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
export const AUDIT_EXEMPT = 'am:audit-exempt';

/**
 * High-volume telemetry (heartbeats, metric samples) is data, not a change of configuration;
 * it is exempt with a reason, and the route-walk test lists every exemption.
 */
export const AuditExempt = (reason: string) => SetMetadata(AUDIT_EXEMPT, reason);

/**
 * Guarantees an audit row for every mutating request. Services that change data record the
 * row themselves inside their transaction; this adds a generic row only when none was
 * written, and a `failure` row when the request failed (the transaction rolled back).
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  private readonly logger = new Logger('Audit');

  constructor(
    private readonly audit: AuditService,
    private readonly reflector: Reflector,
  ) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (ctx.getType() !== 'http') return next.handle();
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    const exempt = this.reflector.getAllAndOverride<string>(AUDIT_EXEMPT, [
      ctx.getHandler(),
      ctx.getClass(),
    ]);
    if (!MUTATING.has(req.method) || exempt) return next.handle();
    const rc = requestContext(req);
    const action = `${req.method} ${req.routeOptions.url ?? req.url}`;
    const resourceType = resourceOf(req.routeOptions.url ?? req.url);
    const params = req.params as Record<string, string> | undefined;
    const resourceId = params?.id ?? null;
    const fields =
      req.body && typeof req.body === 'object' ? { fields: Object.keys(req.body as object) } : null;

    return from(
      (async () => {
        try {
          const result = await lastValueFrom(next.handle(), { defaultValue: undefined });
          if (!rc.audited) {
            await this.audit.record(null, rc, {
              action,
              resourceType,
              resourceId,
              changes: fields,
            });
          }
          return result;
        } catch (err) {
          if (rc.auditedFailure) throw err; // the service recorded why it failed
          const { status } = toResponse(err);
          await this.audit
            .record(null, rc, {
              action,
              resourceType,
              resourceId,
              outcome: 'failure',
              changes: { status, ...(fields ?? {}) },
            })
            .catch((e: unknown) => this.logger.warn(`audit write failed: ${String(e)}`));
          throw err;
        }
      })(),
    );
  }
}

/** `/api/v2/agent-groups/:id/config` → `agent-groups`. */
function resourceOf(url: string): string {
  const parts = url
    .split('?')[0]
    .split('/')
    .filter((p) => p && !p.startsWith(':'));
  const i = parts.findIndex((p) => /^v\d+$/.test(p));
  return parts[i + 1] ?? parts[0] ?? 'unknown';
}
