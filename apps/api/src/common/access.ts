import { SetMetadata, createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { ApiKeyScope, Role } from '@agent-monitor/contracts';
import type { FastifyRequest } from 'fastify';

/**
 * Who may call a route. Every route declares one with `@Access(...)` or `@Public()`; the
 * global AccessGuard refuses routes that declare none (deny by default).
 *
 * - `role`: the least role a person (JWT) needs; admin ⊃ operator ⊃ viewer.
 * - `scopes`: API-key scopes that also grant access (any one is enough). The `admin` scope
 *   grants everything. Without `scopes`, API keys are refused.
 * - `agentParam`: for agent-bound keys (agent keys, scope `agents:write`), the route param
 *   holding the agent id; a bound key used for another agent is refused with 403.
 */
export interface AccessPolicy {
  role?: Role;
  scopes?: ApiKeyScope[];
  agentParam?: string;
}

export const ACCESS_POLICY = 'am:access-policy';
export const PUBLIC_ROUTE = 'am:public';

export const Access = (policy: AccessPolicy) => SetMetadata(ACCESS_POLICY, policy);
/** No authentication at all (login, health). Use sparingly; the route walk test lists these. */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);

export const ROLE_RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

export interface UserPrincipal {
  kind: 'user';
  userId: string;
  email: string;
  name: string;
  role: Role;
  sessionId: string;
}

export interface ApiKeyPrincipal {
  kind: 'api_key';
  keyId: string;
  name: string;
  scopes: ApiKeyScope[];
  /** Set for agent keys. */
  agentId: string | null;
  createdBy: string | null;
}

export type Principal = UserPrincipal | ApiKeyPrincipal;

/** What the audit log needs about a request, whoever made it. */
export interface RequestContext {
  principal: Principal | null;
  ip: string;
  requestId: string;
  userAgent: string | null;
  /** Set once a service wrote this request's audit row (in its transaction). */
  audited: boolean;
  /** Set once a service wrote a committed failure row (e.g. a refused login): no generic one. */
  auditedFailure?: boolean;
  /**
   * Work the server does on its own (no principal), e.g. the rollout driver pushing configs:
   * audited as actor type `system` with this id and label instead of `anonymous`.
   */
  systemActor?: { id: string | null; label: string };
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
    amContext?: RequestContext;
  }
}

export function requestContext(req: FastifyRequest): RequestContext {
  req.amContext ??= {
    principal: req.principal ?? null,
    ip: req.ip,
    requestId: String(req.id),
    userAgent: (req.headers['user-agent'] as string | undefined)?.slice(0, 512) ?? null,
    audited: false,
  };
  req.amContext.principal = req.principal ?? null;
  return req.amContext;
}

/** The authenticated caller (the guard guarantees one on non-public routes). */
export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext) => {
  const req = ctx.switchToHttp().getRequest<FastifyRequest>();
  return req.principal;
});

/** The request's context for audit records: actor, IP, request id. */
export const Ctx = createParamDecorator((_: unknown, ctx: ExecutionContext) =>
  requestContext(ctx.switchToHttp().getRequest<FastifyRequest>()),
);

export function principalLabel(p: Principal | null): string | null {
  if (!p) return null;
  return p.kind === 'user' ? p.email : `key:${p.name}`;
}

export function principalId(p: Principal | null): string | null {
  if (!p) return null;
  return p.kind === 'user' ? p.userId : p.keyId;
}

export function isAdmin(p: Principal): boolean {
  return p.kind === 'user' ? p.role === 'admin' : p.scopes.includes('admin');
}

/** For services that need to check more than the route policy (e.g. agent-bound keys). */
export function canActForAgent(p: Principal, agentId: string): boolean {
  if (p.kind === 'user') return ROLE_RANK[p.role] >= ROLE_RANK.operator;
  if (p.scopes.includes('admin') || p.scopes.includes('metrics:write')) return true;
  return p.agentId === agentId && p.scopes.includes('agents:write');
}
