/** `rnx runtime list`, `rnx runtime info <ref>`, `rnx node list`. */
import {
  ListNodesResponse,
  ListRuntimesResponse,
  RuntimeDetail,
  type InstallFailureData,
  type RuntimeSummary,
} from '@joblet/spec';
import type { ApiClient } from '../api-client.js';
import { EXIT } from '../exit-codes.js';
import type { Io } from '../io.js';
import { compactBytes, formatBytes, table } from '../render/format.js';
import { isWide, outputOption, printData, type ListOutput } from '../render/output.js';
import type { CommandDef } from '../command.js';
import { printSbomPackages, runtimeListWithPackage } from './runtime-packages.js';

function maxTree(r: RuntimeSummary): number {
  return Math.max(0, ...Object.values(r.treeBytes).map((n) => n ?? 0));
}

export async function runtimeList(client: ApiClient, opts: ListOutput, io: Io): Promise<number> {
  const { runtimes } = await client.get('/v1/runtimes', ListRuntimesResponse);
  if (printData(io, opts, runtimes)) return EXIT.OK;
  const wide = isWide(opts);
  // The guide's columns, each one word so `awk '{print $2}'` finds the version; TYPE is the
  // language:version the runtime answers to (`--runtime=java:17`). Architectures and nodes are in
  // `runtime info` and --json. The total is for people: a script would read it as a runtime.
  // -o wide: architectures, the nodes that have it and when it was published, before the free text.
  const rows = runtimes.map((r) => [
    r.name,
    r.version,
    `${r.language}:${r.languageVersion}`,
    compactBytes(maxTree(r)),
    ...(wide ? [r.arches.join(','), `${r.nodes.installed}/${r.nodes.total}`, r.publishedAt] : []),
    // Last, after the free text, so the columns before it stay where scripts read them.
    `${r.description ?? ''}${r.pinned ? ' [pinned]' : ''}`.trim(),
  ]);
  const header = [
    'RUNTIME',
    'VERSION',
    'TYPE',
    'SIZE',
    ...(wide ? ['ARCHES', 'NODES', 'PUBLISHED'] : []),
    'DESCRIPTION',
  ];
  const lines = table([header, header.map((h) => '-'.repeat(h.length)), ...rows]);
  for (const l of lines) io.out(l);
  if (io.tty) {
    io.out('');
    io.out(`Total runtimes: ${runtimes.length}`);
  }
  return EXIT.OK;
}

export async function runtimeInfo(
  client: ApiClient,
  ref: string,
  opts: { json?: boolean },
  io: Io,
): Promise<number> {
  const d = await client.get(`/v1/runtimes/${encodeURIComponent(ref)}`, RuntimeDetail);
  if (opts.json) {
    io.out(JSON.stringify(d, null, 2));
    return EXIT.OK;
  }
  const e = d.index;
  const first = Object.values(e.arches)[0];
  const yml = first?.runtimeYml;
  io.out(`Runtime: ${e.name}`);
  io.out(
    `Version: ${e.version}${d.versions.length > 1 ? `  (published: ${d.versions.join(', ')})` : ''}`,
  );
  io.out(`Language: ${e.language} ${e.languageVersion}`);
  if (e.description) io.out(`Description: ${e.description}`);
  const pin = d.summary.pinned;
  if (pin)
    io.out(
      `Pinned: by ${pin.by} at ${pin.at}${pin.reason ? ` (${pin.reason})` : ''}; kept by garbage collection`,
    );
  io.out('');
  io.out('Requirements:');
  if (yml?.requirements.min_memory) io.out(`  Minimum Memory: ${yml.requirements.min_memory}`);
  io.out(
    `  GPU: ${yml?.requirements.gpu ? `yes${yml.requirements.cuda_version ? ` (CUDA ${yml.requirements.cuda_version})` : ''}` : 'no'}`,
  );
  io.out(`  Architectures: ${d.summary.arches.join(', ')}`);
  io.out('');
  io.out('Pre-installed Packages:');
  const pkgs = yml?.packages ?? [];
  if (pkgs.length === 0) io.out('  (none from pip or npm)');
  for (const p of pkgs) io.out(`  - ${p}`);
  io.out(`System packages: ${yml?.system_packages?.length ?? 0} (dpkg; see --json)`);
  if (yml?.libraries.length) io.out(`Libraries: ${yml.libraries.join(', ')}`);
  io.out('');
  await printSbomPackages(client, `${e.name}@${e.version}`, io);
  io.out('');
  io.out('Artifacts:');
  for (const a of Object.values(e.arches)) {
    if (!a) continue;
    io.out(
      `  ${a.arch.padEnd(6)} ${formatBytes(a.size)} (${formatBytes(a.treeBytes)} unpacked)  sha256 ${a.sha256}`,
    );
    io.out(
      `  ${''.padEnd(6)} tree ${a.treeHash}  built ${a.runtimeYml.build_info.built_at} by ${a.runtimeYml.build_info.built_with} ${a.runtimeYml.build_info.builder_version} (${a.runtimeYml.build_info.platform})`,
    );
  }
  io.out('');
  io.out('Environment:');
  for (const [k, v] of Object.entries(yml?.environment ?? {})) io.out(`  ${k}=${v}`);
  io.out('');
  io.out(`Installed on: ${d.summary.nodes.installed}/${d.summary.nodes.total} online nodes`);
  for (const i of d.installs) {
    // A refusal says why where operators look: the code, the message, the entry or key ids.
    const why = i.failure ? `${i.failure.code}: ${i.failure.message}` : i.error;
    io.out(
      `  ${i.node.padEnd(16)} ${i.arch.padEnd(6)} ${i.state}${i.online ? '' : ' (offline)'}${why ? ` — ${why}` : ''}`,
    );
    for (const line of failureDetails(i.failure?.details)) io.out(`${''.padEnd(27)}${line}`);
  }
  io.out('');
  io.out('Usage:');
  io.out(`  rnx job run --runtime=${e.name}@${e.version} <command>`);
  return EXIT.OK;
}

/** The details of an install failure, one line each (full key ids: the message shortens them). */
function failureDetails(d: InstallFailureData['details']): string[] {
  if (!d) return [];
  return [
    ...(d.entry !== undefined ? [`entry: ${d.entry}`] : []),
    ...(d.signedBy !== undefined ? [`signed by: ${d.signedBy.join(', ') || 'nobody'}`] : []),
    ...(d.trustedKeys !== undefined ? [`trusted keys: ${d.trustedKeys.join(', ')}`] : []),
  ];
}

export async function nodeList(client: ApiClient, opts: ListOutput, io: Io): Promise<number> {
  const { nodes } = await client.get('/v1/nodes', ListNodesResponse);
  if (printData(io, opts, nodes)) return EXIT.OK;
  // -o wide: job slots, the agent's version and the node's labels (free text, last).
  const wide = isWide(opts);
  const labels = (l: Record<string, string>) =>
    Object.entries(l)
      .map(([k, v]) => `${k}=${v}`)
      .join(',') || '-';
  const rows = nodes.map((n) => {
    const counts = `${n.runtimes.filter((r) => r.state === 'installed').length}/${n.runtimes.length}`;
    return [
      n.name,
      n.arch,
      (n.online ? 'online' : n.stoppedAt ? 'stopped' : 'offline') +
        (n.schedule ? `,${n.schedule.state}` : ''),
      n.lastHeartbeat,
      // An offline node's counts are what it last reported, not what it has now.
      n.online ? counts : `${counts} (last seen)`,
      n.disk ? formatBytes(n.disk.freeBytes) : '-',
      ...(wide ? [String(n.capacity), n.agentVersion, labels(n.labels)] : []),
    ];
  });
  const header = ['NODE', 'ARCH', 'STATE', 'LAST HEARTBEAT', 'RUNTIMES', 'FREE DISK'];
  if (wide) header.push('CAPACITY', 'AGENT', 'LABELS');
  for (const l of table([header, ...rows])) io.out(l);
  if (io.tty) io.out(`Total nodes: ${nodes.length}`);
  return EXIT.OK;
}

export const commands: readonly CommandDef[] = [
  {
    path: 'runtime list',
    define: (cmd, { io, state, client }) =>
      cmd
        .description('published runtimes, with architectures and the nodes that have them')
        .option(
          '--with-package <name>',
          'only runtimes whose SBOM lists this package, with its versions',
        )
        .option('--json', 'print JSON')
        .addOption(outputOption())
        .action(async (o: ListOutput & { withPackage?: string }) => {
          state.exitCode =
            o.withPackage === undefined
              ? await runtimeList(client(), o, io)
              : await runtimeListWithPackage(client(), o.withPackage, o, io);
        }),
  },
  {
    path: 'runtime info',
    define: (cmd, { io, state, client }) =>
      cmd
        .description(
          'everything about a runtime: packages, artifacts, environment, where installed',
        )
        .argument('<ref>', 'name, name@1.2.3, name@latest or language:version')
        .option('--json', 'print JSON')
        .action(async (ref: string, o: { json?: boolean }) => {
          state.exitCode = await runtimeInfo(client(), ref, o, io);
        }),
  },
  {
    path: 'node list',
    define: (cmd, { io, state, client }) =>
      cmd
        .description('nodes, their architecture, state, heartbeat, runtimes and free disk')
        .option('--json', 'print JSON')
        .addOption(outputOption())
        .action(async (o: ListOutput) => {
          state.exitCode = await nodeList(client(), o, io);
        }),
  },
];
