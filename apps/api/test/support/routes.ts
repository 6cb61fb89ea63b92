import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { MetadataScanner, ModulesContainer } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ACCESS_POLICY, PUBLIC_ROUTE, type AccessPolicy } from '../../src/common/access.js';
import { AUDIT_EXEMPT } from '../../src/modules/audit/audit.interceptor.js';

export interface WalkedRoute {
  method: string;
  /** Full URL as registered, e.g. `/api/v2/users/:id`. */
  url: string;
  /** `Controller.handler` */
  handler: string;
  policy: AccessPolicy | null;
  isPublic: boolean;
  auditExempt: string | null;
}

/** Mirrors app.factory's global prefix and its exclusions. */
function fullUrl(controllerPath: string, methodPath: string): string {
  const joined = [controllerPath, methodPath]
    .map((p) => p.replace(/^\/+|\/+$/g, ''))
    .filter(Boolean)
    .join('/');
  const excluded = joined === 'metrics' || joined.startsWith('api/v1/');
  return '/' + (excluded ? joined : `api/v2${joined ? '/' + joined : ''}`);
}

/**
 * Every HTTP route of every controller in the app's module graph, with its access policy,
 * read from the same metadata the AccessGuard reads.
 */
export function walkRoutes(app: NestFastifyApplication): WalkedRoute[] {
  const scanner = new MetadataScanner();
  const routes: WalkedRoute[] = [];
  const seen = new Set<unknown>();
  for (const mod of app.get(ModulesContainer).values()) {
    for (const wrapper of mod.controllers.values()) {
      const ctrl = wrapper.metatype as (new (...a: never[]) => object) | null;
      if (!ctrl || seen.has(ctrl)) continue;
      seen.add(ctrl);
      const ctrlPaths = [Reflect.getMetadata(PATH_METADATA, ctrl) ?? ''].flat() as string[];
      const classPolicy = Reflect.getMetadata(ACCESS_POLICY, ctrl) as AccessPolicy | undefined;
      const classPublic = Reflect.getMetadata(PUBLIC_ROUTE, ctrl) === true;
      for (const name of scanner.getAllMethodNames(ctrl.prototype)) {
        const handler = (ctrl.prototype as Record<string, unknown>)[name] as object;
        const methodPaths = Reflect.getMetadata(PATH_METADATA, handler) as
          string | string[] | undefined;
        if (methodPaths === undefined) continue; // not a route handler
        const m = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod;
        const policy =
          (Reflect.getMetadata(ACCESS_POLICY, handler) as AccessPolicy | undefined) ?? classPolicy;
        const isPublic = Reflect.getMetadata(PUBLIC_ROUTE, handler) === true || classPublic;
        const exempt =
          (Reflect.getMetadata(AUDIT_EXEMPT, handler) as string | undefined) ??
          (Reflect.getMetadata(AUDIT_EXEMPT, ctrl) as string | undefined) ??
          null;
        for (const cp of ctrlPaths) {
          for (const mp of [methodPaths].flat()) {
            routes.push({
              method: RequestMethod[m],
              url: fullUrl(cp, mp),
              handler: `${ctrl.name}.${name}`,
              policy: policy ?? null,
              isPublic,
              auditExempt: exempt,
            });
          }
        }
      }
    }
  }
  return routes.sort((a, b) => (a.url + a.method).localeCompare(b.url + b.method));
}

export const routeKey = (r: Pick<WalkedRoute, 'method' | 'url'>) => `${r.method} ${r.url}`;

/** A concrete URL for a route pattern: params become a syntactically valid, unknown UUID. */
export function concreteUrl(url: string): string {
  return url.replace(/:\w+/g, '00000000-0000-4000-8000-0000000000aa').replace(/\{?\*\w*\}?/g, 'x');
}

export const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
