import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES } from '@joblet/spec';
import roles from './roles.js';
import { startTestApi, type TestApi } from '../testing.js';

describe('route role declarations', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi();
  });
  afterAll(() => t.close());

  it('refuses to register a route that declares no role', async () => {
    const app = Fastify();
    await app.register(roles);
    expect(() => app.get('/v1/oops', () => 'x')).toThrow(/GET \/v1\/oops declares no role/);
    expect(() => app.get('/v1/bad', { config: { role: 'root' as never } }, () => 'x')).toThrow(
      /declares no role/,
    );
    await app.close();
  });

  it('gives every route of the API a role, with the roles the security model assigns', () => {
    const declared = Object.fromEntries(t.app.routeRoles);
    expect(declared).toMatchObject({
      'GET /healthz': 'public',
      'POST /v1/runtimes/validate': 'maintainer',
      'POST /v1/builds': 'maintainer',
      'GET /v1/builds': 'reader',
      'GET /v1/builds/:id': 'reader',
      'POST /v1/builds/:id/cancel': 'maintainer',
      'GET /v1/builds/:id/events': 'reader',
      'GET /v1/runtimes': 'reader',
      'GET /v1/runtimes/:ref': 'reader',
      'DELETE /v1/runtimes/:ref': 'admin',
      'POST /v1/runtimes/:ref/test': 'developer',
      'GET /v1/nodes': 'reader',
    });
    for (const role of Object.values(declared)) expect([...ROLES, 'public']).toContain(role);
  });
});
