/**
 * Wiring of `rnx token …`, `rnx admin certs …` and `rnx admin signing-key …` (kept apart:
 * program.ts is long enough).
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { ROLES, parseTokenTtl, type Role } from '@joblet/spec';
import type { ApiClient } from './api-client.js';
import { adminCertsInit } from './commands/admin-certs.js';
import { adminSigningKeyInit } from './commands/admin-signing-key.js';
import { tokenCreate, tokenList, tokenRevoke } from './commands/token.js';
import type { Io } from './io.js';

interface RunState {
  exitCode: number;
}

function ttl(v: string): string {
  if (parseTokenTtl(v) === undefined)
    throw new InvalidArgumentError('a lifetime such as 30d, 12h, 90m');
  return v;
}

function days(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 3650) throw new InvalidArgumentError('1 to 3650 days');
  return n;
}

export function addSecurityCommands(
  program: Command,
  client: () => ApiClient,
  io: Io,
  state: RunState,
): void {
  const token = program.command('token').description('API tokens for CI and scripts (admin)');
  token
    .command('create')
    .description('create a token; it is printed once and never again')
    .addOption(
      new Option('--role <role>', 'what the token may do').choices(ROLES).makeOptionMandatory(),
    )
    .option('--ttl <lifetime>', 'lifetime, e.g. 30d, 12h (at most 365d)', ttl, '30d')
    .option('--name <name>', 'a name to recognise it by (e.g. ci)')
    .option('-q, --quiet', 'print only the token')
    .option('--json', 'print JSON (includes the token)')
    .action(
      async (o: { role: Role; ttl: string; name?: string; quiet?: boolean; json?: boolean }) => {
        state.exitCode = await tokenCreate(client(), o, io);
      },
    );
  token
    .command('list')
    .description('tokens: id, name, role, state, expiry (never the secret)')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      state.exitCode = await tokenList(client(), o, io);
    });
  token
    .command('revoke')
    .description('revoke a token at once, on every API replica')
    .argument('<id>', 'the token id (rnx token list)')
    .action(async (id: string) => {
      state.exitCode = await tokenRevoke(client(), id, io);
    });

  const admin = program.command('admin').description('farm administration');
  admin
    .command('certs')
    .description('certificates for mTLS')
    .command('init')
    .description('create a CA, a server certificate and one client certificate per role (openssl)')
    .requiredOption('--dir <dir>', 'where to write them')
    .option('--server-name <host>', 'the server certificate’s name', 'localhost')
    .option(
      '--san <entry>',
      'subject alternative name, dns:<host> or ip:<addr> (repeatable; default dns:localhost, ip:127.0.0.1)',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option('--days <n>', 'validity of the server and client certificates', days, 365)
    .option('--port <port>', 'API port, for the printed config', (v) => Number(v), 7070)
    .option('--force', 'replace an existing set in --dir')
    .action(
      async (o: {
        dir: string;
        serverName: string;
        san: string[];
        days: number;
        port: number;
        force?: boolean;
      }) => {
        state.exitCode = await adminCertsInit({ ...o, sans: o.san }, io);
      },
    );
  admin
    .command('signing-key')
    .description('keys that sign artifact manifests (agents install only signed artifacts)')
    .command('init')
    .description('create an Ed25519 key pair: <name>.pem (publishers) and <name>.pub.pem (agents)')
    .requiredOption('--out <dir>', 'where to write them')
    .option('--name <name>', 'file name of the pair', 'signing')
    .option('--force', 'replace an existing pair of that name')
    .action((o: { out: string; name: string; force?: boolean }) => {
      state.exitCode = adminSigningKeyInit(o, io);
    });
}
