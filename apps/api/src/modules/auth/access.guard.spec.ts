import { Reflector } from '@nestjs/core';
import type { ExecutionContext } from '@nestjs/common';
import { Access, Public, type ApiKeyPrincipal, type Principal } from '../../common/access.js';
import { DomainException } from '../../common/errors.js';
import { AccessGuard, authorize } from './access.guard.js';
import type { PrincipalResolver } from './principal-resolver.service.js';

const user = (role: 'admin' | 'operator' | 'viewer'): Principal => ({
  kind: 'user',
  userId: 'u1',
  email: 'u@x',
  name: 'U',
  role,
  sessionId: 's1',
});
const key = (scopes: ApiKeyPrincipal['scopes'], agentId: string | null = null): Principal => ({
  kind: 'api_key',
  keyId: 'k1',
  name: 'k',
  scopes,
  agentId,
  createdBy: null,
});
const code = (f: () => void): string | null => {
  try {
    f();
    return null;
  } catch (e) {
    return (e as DomainException).code;
  }
};

describe('authorize', () => {
  it('ranks roles admin ⊃ operator ⊃ viewer', () => {
    expect(code(() => authorize(user('viewer'), { role: 'viewer' }, {}))).toBeNull();
    expect(code(() => authorize(user('viewer'), { role: 'operator' }, {}))).toBe('FORBIDDEN');
    expect(code(() => authorize(user('operator'), { role: 'admin' }, {}))).toBe('FORBIDDEN');
    expect(code(() => authorize(user('admin'), { role: 'operator' }, {}))).toBeNull();
    expect(code(() => authorize(user('admin'), { scopes: ['agents:write'] }, {}))).toBe(
      'FORBIDDEN',
    );
  });

  it('grants keys by scope; admin scope grants all; no scopes means no keys', () => {
    expect(
      code(() => authorize(key(['read']), { role: 'viewer', scopes: ['read'] }, {})),
    ).toBeNull();
    expect(code(() => authorize(key(['read']), { role: 'viewer' }, {}))).toBe('FORBIDDEN');
    expect(code(() => authorize(key(['read']), { role: 'admin', scopes: ['admin'] }, {}))).toBe(
      'FORBIDDEN',
    );
    expect(code(() => authorize(key(['admin']), { role: 'admin' }, {}))).toBeNull();
  });

  it('binds agent keys to their agent', () => {
    const policy = {
      scopes: ['agents:write' as const, 'metrics:write' as const],
      agentParam: 'id',
    };
    expect(code(() => authorize(key(['agents:write'], 'a1'), policy, { id: 'a1' }))).toBeNull();
    expect(code(() => authorize(key(['agents:write'], 'a1'), policy, { id: 'a2' }))).toBe(
      'FORBIDDEN',
    );
    // An unbound agents:write key acts for no agent.
    expect(code(() => authorize(key(['agents:write']), policy, { id: 'a2' }))).toBe('FORBIDDEN');
    expect(code(() => authorize(key(['metrics:write']), policy, { id: 'a2' }))).toBeNull();
    // A read key on a route that also lets agents read their own record.
    const read = {
      role: 'viewer' as const,
      scopes: ['read' as const, 'agents:write' as const],
      agentParam: 'id',
    };
    expect(code(() => authorize(key(['read']), read, { id: 'a2' }))).toBeNull();
    expect(code(() => authorize(key(['agents:write'], 'a1'), read, { id: 'a2' }))).toBe(
      'FORBIDDEN',
    );
  });
});

describe('AccessGuard', () => {
  class Ctl {
    undeclared(): void {}
    @Public() open(): void {}
    @Access({ role: 'admin' }) admin(): void {}
  }
  const resolver = (p: Principal | null) =>
    ({ fromHeaders: async () => p }) as unknown as PrincipalResolver;
  const ctx = (handler: keyof Ctl): ExecutionContext =>
    ({
      getType: () => 'http',
      getHandler: () => Ctl.prototype[handler],
      getClass: () => Ctl,
      switchToHttp: () => ({
        getRequest: () => ({ headers: {}, params: {}, ip: '127.0.0.1', id: 'r1' }),
      }),
    }) as unknown as ExecutionContext;

  it('refuses a route that declares no policy, even for an admin', async () => {
    const g = new AccessGuard(new Reflector(), resolver(user('admin')));
    await expect(g.canActivate(ctx('undeclared'))).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('lets anyone through a public route and requires credentials elsewhere', async () => {
    const anon = new AccessGuard(new Reflector(), resolver(null));
    await expect(anon.canActivate(ctx('open'))).resolves.toBe(true);
    await expect(anon.canActivate(ctx('admin'))).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    const op = new AccessGuard(new Reflector(), resolver(user('operator')));
    await expect(op.canActivate(ctx('admin'))).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const admin = new AccessGuard(new Reflector(), resolver(user('admin')));
    await expect(admin.canActivate(ctx('admin'))).resolves.toBe(true);
  });
});
