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

export class MissingRoleError extends Error {
  override name = 'MissingRoleError';
  readonly code = 'ROUTE_WITHOUT_ROLE';
}

export default fp(
  (app: FastifyInstance) => {
    const roles = new Map<string, RouteRole>();
    app.decorate('routeRoles', roles);
    app.addHook('onRoute', (route) => {
      const role = (route.config as { role?: unknown } | undefined)?.role;
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
