/** `rnx build list`, `rnx build status <id>`, `rnx build logs [-f] <id>`, `rnx build cancel <id>`. */
import { BuildRecord, ListBuildsResponse } from '@joblet/spec';
import type { ApiClient } from '../api-client.js';
import { EXIT } from '../exit-codes.js';
import type { Io } from '../io.js';
import { table } from '../render/format.js';
import { isWide, outputOption, printData, type ListOutput } from '../render/output.js';
import { followBuild } from './runtime-build.js';
import type { CommandDef } from '../command.js';

export async function buildList(
  client: ApiClient,
  opts: ListOutput & { limit?: number },
  io: Io,
): Promise<number> {
  const { builds } = await client.get(`/v1/builds?limit=${opts.limit ?? 20}`, ListBuildsResponse);
  if (printData(io, opts, builds)) return EXIT.OK;
  // -o wide: when it ended, the architectures skipped, and why it failed (free text, last).
  const wide = isWide(opts);
  const rows = builds.map((b) => [
    b.id,
    `${b.name}@${b.version}`,
    b.arches.map((a) => `${a}:${b.archStatus[a]?.state ?? '?'}`).join(' '),
    b.state,
    b.createdAt,
    ...(wide
      ? [
          b.finishedAt ?? '-',
          (b.skipped ?? []).map((s) => s.arch).join(',') || '-',
          b.error ? `${b.error.code}: ${b.error.message}` : '-',
        ]
      : []),
  ]);
  const header = ['BUILD', 'RUNTIME', 'ARCHES', 'STATE', 'SUBMITTED'];
  if (wide) header.push('FINISHED', 'SKIPPED', 'ERROR');
  for (const l of table([header, ...rows])) io.out(l);
  io.out(`Total builds: ${builds.length}`);
  return EXIT.OK;
}

export async function buildStatus(
  client: ApiClient,
  id: string,
  opts: { json?: boolean },
  io: Io,
): Promise<number> {
  const b = await client.get(`/v1/builds/${encodeURIComponent(id)}`, BuildRecord);
  if (opts.json) {
    io.out(JSON.stringify(b, null, 2));
  } else {
    io.out(`Build ${b.id}: ${b.name}@${b.version} ${b.state}`);
    for (const a of b.arches) {
      const s = b.archStatus[a];
      const phase = s?.phase ? ` [${s.phase.n}/${s.phase.total}] ${s.phase.name}` : '';
      const err = s?.error ? ` — ${s.error.code}: ${s.error.message}` : '';
      io.out(`  ${a}: ${s?.state ?? 'unknown'}${phase}${err}`);
    }
    for (const s of b.skipped ?? []) io.out(`  ${s.arch}: skipped — ${s.reason}`);
  }
  return b.state === 'failed' || b.state === 'canceled' ? EXIT.FAILED : EXIT.OK;
}

export async function buildLogs(
  client: ApiClient,
  id: string,
  opts: { verbose?: boolean; interactive?: boolean },
  io: Io,
): Promise<number> {
  return followBuild(
    client,
    id,
    { verbose: opts.verbose ?? true, interactive: opts.interactive },
    io,
  );
}

export async function buildCancel(client: ApiClient, id: string, io: Io): Promise<number> {
  const b = await client.post(`/v1/builds/${encodeURIComponent(id)}/cancel`, {}, BuildRecord);
  io.out(`Build ${b.id}: ${b.state}`);
  return EXIT.OK;
}

export const commands: readonly CommandDef[] = [
  {
    path: 'build list',
    define: (cmd, { io, state, client }) =>
      cmd
        .description('recent builds, newest first')
        .option('--json', 'print JSON')
        .addOption(outputOption())
        .option('--limit <n>', 'how many', (v) => Number(v), 20)
        .action(async (o: ListOutput & { limit: number }) => {
          state.exitCode = await buildList(client(), o, io);
        }),
  },
  {
    path: 'build status',
    define: (cmd, { io, state, client }) =>
      cmd
        .argument('<build-id>')
        .option('--json', 'print JSON')
        .action(async (id: string, o: { json?: boolean }) => {
          state.exitCode = await buildStatus(client(), id, o, io);
        }),
  },
  {
    path: 'build logs',
    define: (cmd, { io, state, client, interactive }) =>
      cmd
        .description('the build’s phases and log lines; follows until it ends')
        .argument('<build-id>')
        .option('-f, --follow', 'follow (the default; kept for familiarity)')
        .action(async (id: string) => {
          state.exitCode = await buildLogs(client(), id, { interactive }, io);
        }),
  },
  {
    path: 'build cancel',
    define: (cmd, { io, state, client }) =>
      cmd.argument('<build-id>').action(async (id: string) => {
        state.exitCode = await buildCancel(client(), id, io);
      }),
  },
];
