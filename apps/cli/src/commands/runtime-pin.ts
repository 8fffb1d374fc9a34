/**
 * `rnx runtime pin <ref> [--reason TEXT]` and `rnx runtime unpin <ref>` (admin): retention pins.
 * A pinned version is kept by garbage collection however many newer ones exist, and `runtime
 * remove` refuses it until it is unpinned. `runtime list` and `runtime info` show the pin.
 */
import { PinRuntimeResponse } from '@joblet/spec';
import type { ApiClient } from '../api-client.js';
import { EXIT } from '../exit-codes.js';
import { paint, type Io } from '../io.js';
import type { CommandDef } from '../command.js';

const pinPath = (ref: string) => `/v1/runtimes/${encodeURIComponent(ref)}/pin`;

export async function runtimePin(
  client: ApiClient,
  ref: string,
  opts: { reason?: string; json?: boolean },
  io: Io,
): Promise<number> {
  const r = await client.request(
    'PUT',
    pinPath(ref),
    opts.reason ? { reason: opts.reason } : {},
    PinRuntimeResponse,
  );
  if (opts.json) io.out(JSON.stringify(r, null, 2));
  else
    io.out(
      `${paint(io, 'green', '✓')} pinned ${r.name}@${r.version}: kept by garbage collection, not removable until unpinned`,
    );
  return EXIT.OK;
}

export async function runtimeUnpin(
  client: ApiClient,
  ref: string,
  opts: { json?: boolean },
  io: Io,
): Promise<number> {
  const r = await client.request('DELETE', pinPath(ref), undefined, PinRuntimeResponse);
  if (opts.json) io.out(JSON.stringify(r, null, 2));
  else
    io.out(`${paint(io, 'green', '✓')} unpinned ${r.name}@${r.version}: retention applies again`);
  return EXIT.OK;
}

export const commands: readonly CommandDef[] = [
  {
    path: 'runtime pin',
    define: (cmd, { io, state, client }) =>
      cmd
        .description('keep a runtime version: garbage collection skips it, remove refuses it')
        .argument('<ref>', 'name@1.2.3 (a name alone pins its latest version)')
        .option('--reason <text>', 'why it must be kept (shown in list and info)')
        .option('--json', 'print JSON')
        .action(async (ref: string, o: { reason?: string; json?: boolean }) => {
          state.exitCode = await runtimePin(client(), ref, o, io);
        }),
  },
  {
    path: 'runtime unpin',
    define: (cmd, { io, state, client }) =>
      cmd
        .description('lift a pin: the version is subject to retention again')
        .argument('<ref>', 'name@1.2.3')
        .option('--json', 'print JSON')
        .action(async (ref: string, o: { json?: boolean }) => {
          state.exitCode = await runtimeUnpin(client(), ref, o, io);
        }),
  },
];
