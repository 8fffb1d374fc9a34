/** `rnx admin certs init`: make the farm's certificates and say how to use them. */
import { InvalidArgumentError } from 'commander';
import { ROLES } from '@joblet/spec';
import { PkiError, PkiErrorCode, certsInit, type CertsInitOptions } from '@joblet/pki';
import { CliError, UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { paint, type Io } from '../io.js';
import type { CommandDef } from '../command.js';
import { collect } from './parsers.js';

export async function adminCertsInit(
  o: CertsInitOptions & { port?: number },
  io: Io,
): Promise<number> {
  const r = await certsInit(o).catch((err: unknown) => {
    throw cliErrorOf(err);
  });
  const host = o.serverName ?? 'localhost';
  const port = o.port ?? 7070;
  io.out(`${paint(io, 'green', '✓')} certificates in ${r.dir}`);
  io.out(`  CA             ${r.ca.cert}   (key ${r.ca.key} — keep it offline)`);
  io.out(`  server         ${r.server.cert}   (key ${r.server.key}; ${r.server.sans.join(', ')})`);
  for (const role of ROLES)
    io.out(
      `  ${`${role} client`.padEnd(19)}${r.clients[role].cert}   (key ${r.clients[role].key})`,
    );
  io.out('');
  io.out('API (environment):');
  io.out(`  API_TLS_CERT=${r.server.cert}`);
  io.out(`  API_TLS_KEY=${r.server.key}`);
  io.out(`  API_TLS_CA=${r.ca.cert}`);
  io.out('  API_AUTH=mtls            # or mtls+token to also accept API tokens');
  io.out('');
  io.out('~/.rnx/rnx-config.yml (pick the role’s certificate):');
  io.out('  current: farm');
  io.out('  servers:');
  io.out('    farm:');
  io.out(`      url: https://${host.includes(':') ? `[${host}]` : host}:${port}`);
  io.out(`      ca: ${r.ca.cert}`);
  io.out(`      cert: ${r.clients.admin.cert}`);
  io.out(`      key: ${r.clients.admin.key}`);
  io.out('');
  io.out('CI: RNX_SERVER, RNX_CA and RNX_TOKEN (rnx token create), or RNX_CERT and RNX_KEY.');
  return EXIT.OK;
}

/** @joblet/pki's errors as the CLI's: a bad flag is a usage error (exit 2), openssl failing exit 1. */
function cliErrorOf(err: unknown): unknown {
  if (!(err instanceof PkiError)) return err;
  if (err.code === PkiErrorCode.InvalidArgument) return new UsageError(err.message, { cause: err });
  return new CliError(err.message, EXIT.FAILED, { cause: err });
}

function days(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 3650) throw new InvalidArgumentError('1 to 3650 days');
  return n;
}

export const commands: readonly CommandDef[] = [
  {
    path: 'admin certs init',
    define: (cmd, { io, state }) =>
      cmd
        .description(
          'create a CA, a server certificate and one client certificate per role (openssl)',
        )
        .requiredOption('--dir <dir>', 'where to write them')
        .option('--server-name <host>', 'the server certificate’s name', 'localhost')
        .option(
          '--san <entry>',
          'subject alternative name, dns:<host> or ip:<addr> (repeatable; default dns:localhost, ip:127.0.0.1)',
          collect,
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
        ),
  },
];
