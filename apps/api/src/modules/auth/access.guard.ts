import { CanActivate, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import {
  ACCESS_POLICY,
  PUBLIC_ROUTE,
  ROLE_RANK,
  type AccessPolicy,
  type Principal,
  requestContext,
} from '../../common/access.js';
import { DomainException, forbidden, unauthenticated } from '../../common/errors.js';
import { PrincipalResolver } from './principal-resolver.service.js';

export const PEOPLE_ONLY = 'am:people-only';
/**
 * For routes about the signed-in person (profile, own password): refused to every API key,
 * even an `admin`-scoped one, before the body is validated.
 */
export const PeopleOnly = () => SetMetadata(PEOPLE_ONLY, true);

/**
 * The one access check. Deny by default: a handler with neither `@Access` nor `@Public` is
 * refused (500-free: 403 with a message naming the missing policy, and the route-walk test
 * fails the build before that can ship).
 */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly resolver: PrincipalResolver,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== 'http') return true; // sockets authenticate in their gateway
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    const targets = [ctx.getHandler(), ctx.getClass()];
    const isPublic = this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets);
    const policy = this.reflector.getAllAndOverride<AccessPolicy | undefined>(
      ACCESS_POLICY,
      targets,
    );

    if (isPublic) {
      // Public routes still learn who is calling when credentials are sent (for audit).
      req.principal = (await this.resolver.fromHeaders(req.headers).catch(() => null)) ?? undefined;
      requestContext(req);
      return true;
    }
    if (!policy) throw new DomainException('FORBIDDEN', 'This route declares no access policy');

    const principal = await this.resolver.fromHeaders(req.headers);
    if (!principal) throw unauthenticated();
    req.principal = principal;
    requestContext(req);
    if (
      principal.kind !== 'user' &&
      this.reflector.getAllAndOverride<boolean>(PEOPLE_ONLY, targets)
    ) {
      throw forbidden('This route is for people signed in, not API keys');
    }
    authorize(principal, policy, req.params as Record<string, string> | undefined);
    return true;
  }
}

export function authorize(
  p: Principal,
  policy: AccessPolicy,
  params: Record<string, string> | undefined,
): void {
  if (p.kind === 'user') {
    if (!policy.role) throw forbidden('This route is for API keys only');
    if (ROLE_RANK[p.role] < ROLE_RANK[policy.role]) {
      throw forbidden(`Requires the ${policy.role} role`);
    }
    return;
  }
  if (p.scopes.includes('admin')) return;
  const granted = policy.scopes?.some((s) => p.scopes.includes(s));
  if (!granted) {
    throw forbidden(
      policy.scopes?.length
        ? `API key needs one of the scopes: ${policy.scopes.join(', ')}`
        : 'API keys cannot use this route',
    );
  }
  if (policy.agentParam && !p.scopes.includes('metrics:write')) {
    // An agent-bound key acts only for its agent. A key whose only grant here is
    // `agents:write` without a bound agent (never issued, but refuse it anyway) may not act
    // for any agent.
    const onlyAgentWrite = policy.scopes?.every(
      (s) => s === 'agents:write' || !p.scopes.includes(s),
    );
    const target = params?.[policy.agentParam];
    if ((p.agentId || onlyAgentWrite) && target !== p.agentId) {
      throw forbidden('This agent key belongs to another agent');
    }
  }
}
