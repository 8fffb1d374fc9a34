/** `rnx token create | list | revoke`: API tokens for CI and scripts (admin). */
import { InvalidArgumentError, Option } from 'commander';
import {
  CreateTokenResponse,
  ListTokensResponse,
  ROLES,
  TokenView,
  parseTokenTtl,
  type Role,
} from '@joblet/spec';
import type { ApiClient } from '../api-client.js';
import { EXIT } from '../exit-codes.js';
import { paint, type Io } from '../io.js';
import { table } from '../render/format.js';
import { isWide, outputOption, printData, type ListOutput } from '../render/output.js';
import type { CommandDef } from '../command.js';

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

export async function tokenList(client: ApiClient, o: ListOutput, io: Io): Promise<number> {
  const { tokens } = await client.get('/v1/tokens', ListTokensResponse);
  if (printData(io, o, tokens)) return EXIT.OK;
  // -o wide: when it was created and revoked.
  const wide = isWide(o);
  const rows = tokens.map((t) => [
    t.id,
    t.name,
    t.role,
    t.state,
    t.expiresAt,
    t.createdBy,
    ...(wide ? [t.createdAt, t.revokedAt ?? '-'] : []),
  ]);
  const header = ['ID', 'NAME', 'ROLE', 'STATE', 'EXPIRES', 'CREATED BY'];
  if (wide) header.push('CREATED', 'REVOKED');
  for (const l of table([header, ...rows])) io.out(l);
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

function ttl(v: string): string {
  if (parseTokenTtl(v) === undefined)
    throw new InvalidArgumentError('a lifetime such as 30d, 12h, 90m');
  return v;
}

export const commands: readonly CommandDef[] = [
  {
    path: 'token create',
    define: (cmd, { io, state, client }) =>
      cmd
        .description('create a token; it is printed once and never again')
        .addOption(
          new Option('--role <role>', 'what the token may do').choices(ROLES).makeOptionMandatory(),
        )
        .option('--ttl <lifetime>', 'lifetime, e.g. 30d, 12h (at most 365d)', ttl, '30d')
        .option('--name <name>', 'a name to recognise it by (e.g. ci)')
        .option('-q, --quiet', 'print only the token')
        .option('--json', 'print JSON (includes the token)')
        .action(
          async (o: {
            role: Role;
            ttl: string;
            name?: string;
            quiet?: boolean;
            json?: boolean;
          }) => {
            state.exitCode = await tokenCreate(client(), o, io);
          },
        ),
  },
  {
    path: 'token list',
    define: (cmd, { io, state, client }) =>
      cmd
        .description('tokens: id, name, role, state, expiry (never the secret)')
        .option('--json', 'print JSON')
        .addOption(outputOption())
        .action(async (o: ListOutput) => {
          state.exitCode = await tokenList(client(), o, io);
        }),
  },
  {
    path: 'token revoke',
    define: (cmd, { io, state, client }) =>
      cmd
        .description('revoke a token at once, on every API replica')
        .argument('<id>', 'the token id (rnx token list)')
        .action(async (id: string) => {
          state.exitCode = await tokenRevoke(client(), id, io);
        }),
  },
];
