/**
 * What each route lets a caller do, in words, for the 403 message
 * (`role developer cannot build runtimes; maintainer required`). Keyed like `app.routeRoles`;
 * HEAD shares its GET's phrase. A route missing here falls back to `call METHOD /url`, and the
 * role-matrix test asks for an entry.
 */
import type { Role } from '@joblet/spec';

export const ROUTE_VERBS: Readonly<Record<string, string>> = {
  'POST /v1/runtimes/validate': 'validate runtime specs on the server',
  'POST /v1/builds': 'build runtimes',
  'GET /v1/builds': 'list builds',
  'GET /v1/builds/:id': 'read builds',
  'POST /v1/builds/:id/cancel': 'cancel builds',
  'GET /v1/builds/:id/events': 'follow build logs',
  'GET /v1/runtimes': 'list runtimes',
  'GET /v1/runtimes/:ref': 'read runtimes',
  'GET /v1/runtimes/:ref/sbom': 'read runtime SBOMs',
  'GET /v1/runtimes/:ref/packages': 'list runtime packages',
  'GET /v1/runtimes/:ref/provenance': 'read runtime provenance',
  'DELETE /v1/runtimes/:ref': 'remove runtimes',
  'POST /v1/runtimes/:ref/test': 'test runtimes',
  'PUT /v1/runtimes/:ref/pin': 'pin runtime versions',
  'DELETE /v1/runtimes/:ref/pin': 'unpin runtime versions',
  'GET /v1/nodes': 'list nodes',
  'POST /v1/nodes/:name/cordon': 'cordon nodes',
  'POST /v1/nodes/:name/drain': 'drain nodes',
  'POST /v1/nodes/:name/uncordon': 'uncordon nodes',
  'DELETE /v1/nodes/:name': 'remove nodes',
  'POST /v1/jobs': 'run jobs',
  'GET /v1/jobs': 'list jobs',
  'GET /v1/jobs/:id': 'read jobs',
  'POST /v1/jobs/:id/stop': 'stop jobs',
  'POST /v1/jobs/:id/cancel': 'cancel jobs',
  'GET /v1/jobs/:id/logs': 'read job logs',
  'POST /v1/volumes': 'create volumes',
  'GET /v1/volumes': 'list volumes',
  'DELETE /v1/volumes/:name': 'remove volumes',
  'POST /v1/networks': 'create networks',
  'GET /v1/networks': 'list networks',
  'DELETE /v1/networks/:name': 'remove networks',
  'GET /v1/pools': 'read pool backlogs',
  'POST /v1/tokens': 'create API tokens',
  'GET /v1/tokens': 'list API tokens',
  'DELETE /v1/tokens/:id': 'revoke API tokens',
  'GET /v1/dashboard': 'read the farm dashboard',
  'GET /metrics': 'read metrics',
  'POST /v1/gc': 'collect garbage in the artifact store',
};

/** Routes under a prefix that share one phrase (Bull Board's many routes). */
const PREFIX_VERBS: readonly (readonly [string, string])[] = [
  ['/admin/queues', 'use the queue dashboard (Bull Board)'],
];

export function routeVerb(method: string, url: string): string | undefined {
  const exact = ROUTE_VERBS[`${method === 'HEAD' ? 'GET' : method} ${url}`];
  if (exact) return exact;
  return PREFIX_VERBS.find(([prefix]) => url === prefix || url.startsWith(`${prefix}/`))?.[1];
}

export function forbiddenMessage(held: Role, required: Role, method: string, url: string): string {
  const verb = routeVerb(method, url) ?? `call ${method} ${url}`;
  return `role ${held} cannot ${verb}; ${required} required`;
}
