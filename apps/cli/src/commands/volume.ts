/**
 * `rnx volume create|list|remove`: named persistent directories on a node, mounted at
 * /volumes/<name>; with `--size` a filesystem of that size (writes past it fail with ENOSPC).
 */
import { InvalidArgumentError } from 'commander';
import { ListVolumesResponse, VolumeSize, VolumeView } from '@joblet/spec';
import type { ApiClient } from '../api-client.js';
import { EXIT } from '../exit-codes.js';
import type { Io } from '../io.js';
import { formatBytes, table } from '../render/format.js';
import { isWide, outputOption, printData, type ListOutput } from '../render/output.js';
import type { CommandDef } from '../command.js';

/** `--size`: checked here for a usage error (exit 2) naming the flag; sent as typed. */
function sizeOption(value: string): string {
  const r = VolumeSize.safeParse(value);
  if (!r.success) throw new InvalidArgumentError(`--size: ${r.error.issues[0]?.message ?? 'bad'}`);
  return value;
}

export async function volumeCreate(
  client: ApiClient,
  name: string,
  opts: { node?: string; size?: string },
  io: Io,
): Promise<number> {
  const v = await client.post(
    '/v1/volumes',
    { name, node: opts.node, size: opts.size },
    VolumeView,
  );
  const size = v.sizeBytes === undefined ? '' : ` (${formatBytes(v.sizeBytes)})`;
  io.out(
    `volume ${v.name}${size} created on ${v.node}; mount it with --volume=${v.name} (at /volumes/${v.name})`,
  );
  return EXIT.OK;
}

export async function volumeList(client: ApiClient, opts: ListOutput, io: Io): Promise<number> {
  const { volumes } = await client.get('/v1/volumes', ListVolumesResponse);
  if (printData(io, opts, volumes)) return EXIT.OK;
  // -o wide: the exact size in bytes and where a job sees the volume.
  const wide = isWide(opts);
  const header = ['VOLUME', 'NODE', 'SIZE'];
  if (wide) header.push('BYTES', 'MOUNT');
  const rows = volumes.map((v) => [
    v.name,
    v.node,
    v.sizeBytes === undefined ? '-' : formatBytes(v.sizeBytes),
    ...(wide ? [v.sizeBytes === undefined ? '-' : String(v.sizeBytes), `/volumes/${v.name}`] : []),
  ]);
  for (const l of table([header, ...rows])) io.out(l);
  return EXIT.OK;
}

export async function volumeRemove(
  client: ApiClient,
  name: string,
  opts: { node?: string },
  io: Io,
): Promise<number> {
  const q = opts.node ? `?node=${encodeURIComponent(opts.node)}` : '';
  const v = await client.request(
    'DELETE',
    `/v1/volumes/${encodeURIComponent(name)}${q}`,
    undefined,
    VolumeView,
  );
  io.out(`volume ${v.name} removed from ${v.node}`);
  return EXIT.OK;
}

export const commands: readonly CommandDef[] = [
  {
    path: 'volume create',
    define: (cmd, { io, state, client }) =>
      cmd
        .argument('<name>')
        .option('--node <name>', 'the node (required when several are online)')
        .option(
          '--size <size>',
          'a filesystem of this size, e.g. 10GB, 512MB, 1G (default: no size, the node’s disk)',
          sizeOption,
        )
        .action(async (name: string, o: { node?: string; size?: string }) => {
          state.exitCode = await volumeCreate(client(), name, o, io);
        }),
  },
  {
    path: 'volume list',
    define: (cmd, { io, state, client }) =>
      cmd
        .option('--json', 'print JSON')
        .addOption(outputOption())
        .action(async (o: ListOutput) => {
          state.exitCode = await volumeList(client(), o, io);
        }),
  },
  {
    path: 'volume remove',
    define: (cmd, { io, state, client }) =>
      cmd
        .argument('<name>')
        .option('--node <name>', 'the node')
        .action(async (name: string, o: { node?: string }) => {
          state.exitCode = await volumeRemove(client(), name, o, io);
        }),
  },
];
