/** `rnx token create | list | revoke`: API tokens for CI and scripts (admin). */
import { CreateTokenResponse, ListTokensResponse, TokenView, type Role } from '@joblet/spec';
import type { ApiClient } from '../api-client.js';
import { EXIT } from '../exit-codes.js';
import { paint, type Io } from '../io.js';
import { table } from '../render/format.js';

export interface TokenCreateOptions {
  role: Role;
  ttl: string;
  name?: string;
  json?: boolean;
  /** Print only the token (for `TOKEN=$(rnx token create … -q)`). */
  quiet?: boolean;
}

export async function tokenCreate(
  client: ApiClient,
  o: TokenCreateOptions,
  io: Io,
): Promise<number> {
  const t = await client.post(
    '/v1/tokens',
    { role: o.role, ttl: o.ttl, ...(o.name ? { name: o.name } : {}) },
    CreateTokenResponse,
  );
  if (o.json) io.out(JSON.stringify(t, null, 2));
  else if (o.quiet) io.out(t.token);
  else {
    io.out(t.token);
    io.err(
      `${paint(io, 'green', '✓')} token ${t.id} (${t.name}): role ${t.role}, expires ${t.expiresAt}`,
    );
    io.err(
      paint(
        io,
        'yellow',
        'This is the only time the token is shown; the farm keeps only a hash of it. ' +
          'Use it as RNX_TOKEN, or token: in rnx-config.yml.',
      ),
    );
  }
  return EXIT.OK;
}

export async function tokenList(client: ApiClient, o: { json?: boolean }, io: Io): Promise<number> {
  const { tokens } = await client.get('/v1/tokens', ListTokensResponse);
  if (o.json) {
    io.out(JSON.stringify(tokens, null, 2));
    return EXIT.OK;
  }
  const rows = tokens.map((t) => [t.id, t.name, t.role, t.state, t.expiresAt, t.createdBy]);
  for (const l of table([['ID', 'NAME', 'ROLE', 'STATE', 'EXPIRES', 'CREATED BY'], ...rows]))
    io.out(l);
  io.out(`Total tokens: ${tokens.length}`);
  return EXIT.OK;
}

export async function tokenRevoke(client: ApiClient, id: string, io: Io): Promise<number> {
  const t = await client.request(
    'DELETE',
    `/v1/tokens/${encodeURIComponent(id)}`,
    undefined,
    TokenView,
  );
  io.out(`Token ${t.id} (${t.name}) revoked at ${t.revokedAt ?? 'an earlier time'}`);
  return EXIT.OK;
}
