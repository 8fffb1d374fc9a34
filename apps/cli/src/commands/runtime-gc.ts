/**
 * `rnx runtime gc [--dry-run] [--json]`: asks the farm's garbage collector what the artifact store
 * holds that nothing needs — versions beyond the retention, unreferenced artifacts, dangling cache
 * pointers, leftover staging, unused base roots — and removes it (or, with --dry-run, only shows
 * it), printing each item and the space it frees.
 */
import { GcResponse, type GcItem } from '@joblet/spec';
import { ApiClient } from '../api-client.js';
import { EXIT } from '../exit-codes.js';
import { paint, type Io } from '../io.js';
import { formatBytes, table } from '../render/format.js';
import type { CommandDef } from '../command.js';

/** A large store takes a while to list: more than the client's usual 30 s. */
export const GC_TIMEOUT_MS = 10 * 60_000;

const KIND_ORDER: GcItem['kind'][] = ['version', 'artifact', 'pointer', 'staging', 'base'];

export async function runtimeGc(
  client: ApiClient,
  opts: { dryRun?: boolean; json?: boolean },
  io: Io,
): Promise<number> {
  const dryRun = Boolean(opts.dryRun);
  const slow = new ApiClient(client.config, GC_TIMEOUT_MS);
  const r = await slow.post('/v1/gc', { dryRun }, GcResponse);
  const failed = r.items.filter((i) => i.error);
  if (opts.json) {
    io.out(JSON.stringify(r, null, 2));
    return failed.length ? EXIT.FAILED : EXIT.OK;
  }
  const { keepVersions, baseUnusedDays } = r.policy;
  io.out(
    `Policy: keep the newest ${keepVersions} versions per runtime; base roots unused for ${baseUnusedDays} days go.`,
  );
  if (r.items.length === 0) {
    io.out(`${paint(io, 'green', '✓')} nothing to collect`);
    return EXIT.OK;
  }
  const items = [...r.items].sort(
    (a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) || a.key.localeCompare(b.key),
  );
  const rows = items.map((i) => [
    i.kind,
    i.key,
    formatBytes(i.bytes),
    i.error ? `${paint(io, 'red', 'FAILED')}: ${i.error}` : i.reason,
  ]);
  for (const l of table([['KIND', 'KEY', 'SIZE', 'REASON'], ...rows])) io.out(l);
  io.out('');
  const n = r.items.length - failed.length;
  if (dryRun) {
    io.out(
      `Would free ${formatBytes(r.bytes)} (${n} item${n === 1 ? '' : 's'}). Run without --dry-run to remove them.`,
    );
  } else {
    io.out(
      `${paint(io, 'green', '✓')} freed ${formatBytes(r.bytes)} (${n} item${n === 1 ? '' : 's'} removed)`,
    );
  }
  if (failed.length) {
    io.err(`${failed.length} item(s) could not be removed; see above and the API's log`);
    return EXIT.FAILED;
  }
  return EXIT.OK;
}

export const commands: readonly CommandDef[] = [
  {
    path: 'runtime gc',
    define: (cmd, { io, state, client }) =>
      cmd
        .description(
          'remove what the artifact store holds that nothing needs (old versions, orphans, unused bases)',
        )
        .option('--dry-run', 'only show what would go and how much space it frees')
        .option('--json', 'print JSON')
        .action(async (o: { dryRun?: boolean; json?: boolean }) => {
          state.exitCode = await runtimeGc(client(), o, io);
        }),
  },
];
