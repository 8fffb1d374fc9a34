/**
 * `rnx network create|list|remove`: job networks. `create` defines a custom network for the whole
 * farm (`rnx network create prod --cidr 10.10.0.0/24`); jobs run with `--network=prod` reach
 * each other by address and by job id, and no other network.
 */
import { ListNetworksResponse, NetworkView } from '@joblet/spec';
import type { ApiClient } from '../api-client.js';
import type { CommandDef } from '../command.js';
import { EXIT } from '../exit-codes.js';
import type { Io } from '../io.js';
import { table } from '../render/format.js';
import { isWide, outputOption, printData, type ListOutput } from '../render/output.js';

export async function networkCreate(
  client: ApiClient,
  name: string,
  opts: { cidr: string },
  io: Io,
): Promise<number> {
  const n = await client.post('/v1/networks', { name, cidr: opts.cidr }, NetworkView);
  io.out(`network ${n.name} created (${n.cidr}); run jobs in it with --network=${n.name}`);
  return EXIT.OK;
}

export async function networkList(client: ApiClient, opts: ListOutput, io: Io): Promise<number> {
  const { networks } = await client.get('/v1/networks', ListNetworksResponse);
  if (printData(io, opts, networks)) return EXIT.OK;
  // -o wide: when a custom network was created.
  const wide = isWide(opts);
  const header = ['NAME', 'CIDR', 'TYPE', ...(wide ? ['CREATED'] : [])];
  const rows = networks.map((n) => [
    n.name,
    n.cidr ?? '-',
    n.builtin ? 'built-in' : 'custom',
    ...(wide ? [n.createdAt ?? '-'] : []),
  ]);
  for (const l of table([header, ...rows])) io.out(l);
  return EXIT.OK;
}

export async function networkRemove(client: ApiClient, name: string, io: Io): Promise<number> {
  const n = await client.request(
    'DELETE',
    `/v1/networks/${encodeURIComponent(name)}`,
    undefined,
    NetworkView,
  );
  io.out(`network ${n.name} removed`);
  return EXIT.OK;
}

export const commands: readonly CommandDef[] = [
  {
    path: 'network create',
    define: (cmd, { io, state, client }) =>
      cmd
        .description('define a network for the whole farm')
        .argument('<name>')
        .requiredOption('--cidr <range>', 'its IPv4 addresses, e.g. 10.10.0.0/24 (/16 to /29)')
        .action(async (name: string, o: { cidr: string }) => {
          state.exitCode = await networkCreate(client(), name, o, io);
        }),
  },
  {
    path: 'network list',
    define: (cmd, { io, state, client }) =>
      cmd
        .option('--json', 'print JSON')
        .addOption(outputOption())
        .action(async (o: ListOutput) => {
          state.exitCode = await networkList(client(), o, io);
        }),
  },
  {
    path: 'network remove',
    define: (cmd, { io, state, client }) =>
      cmd
        .description('remove a custom network (none of its jobs may be running)')
        .argument('<name>')
        .action(async (name: string) => {
          state.exitCode = await networkRemove(client(), name, io);
        }),
  },
];
