/**
 * Every route declares the role it needs in `config.role`, from the very first route on, so that
 * authentication (mTLS / tokens) never has to be retrofitted. A route registered without a
 * declaration makes the app fail to start — and the route-matrix test fails with it.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ROLES, type Role } from '@joblet/spec';

/** `public` is for liveness/readiness probes only. */
export type RouteRole = Role | 'public';

declare module 'fastify' {
  interface FastifyContextConfig {
    role?: RouteRole;
  }
  interface FastifyInstance {
    /** Every route's declared role, keyed `METHOD /url` (the auth matrix test walks it). */
    routeRoles: Map<string, RouteRole>;
  }
}

const kDefaultRole = Symbol('joblet.defaultRouteRole');

/**
 * Gives every route registered inside `scope` (and the plugins it registers) that declares no
 * role the role `role` — for third-party plugins whose routes cannot be annotated (Bull Board).
 * The role is written into the route's `config`, so the auth hook enforces it like any declared
 * one; routes outside `scope` are unaffected (Fastify encapsulation), and `public` is not allowed.
 */
export function defaultRouteRole(scope: FastifyInstance, role: Role): void {
  (scope as unknown as Record<symbol, Role>)[kDefaultRole] = role;
}

export class MissingRoleError extends Error {
  override name = 'MissingRoleError';
  readonly code = 'ROUTE_WITHOUT_ROLE';
}

export default fp(
  (app: FastifyInstance) => {
    const roles = new Map<string, RouteRole>();
    app.decorate('routeRoles', roles);
    app.addHook('onRoute', function (this: FastifyInstance, route) {
      let role = (route.config as { role?: unknown } | undefined)?.role;
      // `this` is the instance the route is declared on; child scopes inherit from theirs.
      const fallback = (this as unknown as Record<symbol, Role | undefined>)[kDefaultRole];
      if (role === undefined && fallback) {
        role = fallback;
        route.config = { ...route.config, role: fallback };
      }
      if (role === 'public' || ROLES.includes(role as Role)) {
        for (const method of [route.method].flat())
          roles.set(`${method} ${route.url}`, role as RouteRole);
        return;
      }
      throw new MissingRoleError(
        `route ${String(route.method)} ${route.url} declares no role (config.role: ${ROLES.join(' | ')} | public)`,
      );
    });
  },
  { name: 'roles' },
);
