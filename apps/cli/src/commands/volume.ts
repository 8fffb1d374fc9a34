/** `rnx volume create|list|remove`: named persistent directories on a node, mounted at /volumes/<name>. */
import { ListVolumesResponse, VolumeView } from '@joblet/spec';
import type { ApiClient } from '../api-client.js';
import { EXIT } from '../exit-codes.js';
import type { Io } from '../io.js';
import { table } from '../render/format.js';
import type { CommandDef } from '../command.js';

export async function volumeCreate(
  client: ApiClient,
  name: string,
  opts: { node?: string },
  io: Io,
): Promise<number> {
  const v = await client.post('/v1/volumes', { name, node: opts.node }, VolumeView);
  io.out(
    `volume ${v.name} created on ${v.node}; mount it with --volume=${v.name} (at /volumes/${v.name})`,
  );
  return EXIT.OK;
}

export async function volumeList(
  client: ApiClient,
  opts: { json?: boolean },
  io: Io,
): Promise<number> {
  const { volumes } = await client.get('/v1/volumes', ListVolumesResponse);
  if (opts.json) io.out(JSON.stringify(volumes, null, 2));
  else
    for (const l of table([['VOLUME', 'NODE'], ...volumes.map((v) => [v.name, v.node])])) io.out(l);
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
        .action(async (name: string, o: { node?: string }) => {
          state.exitCode = await volumeCreate(client(), name, o, io);
        }),
  },
  {
    path: 'volume list',
    define: (cmd, { io, state, client }) =>
      cmd.option('--json', 'print JSON').action(async (o: { json?: boolean }) => {
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
