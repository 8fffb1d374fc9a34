/** `rnx runtime remove <name>[@version]`, `rnx runtime test <ref>`, and waiting for deployment. */
import { createInterface } from 'node:readline/promises';
import {
  ListNodesResponse,
  RemoveRuntimeResponse,
  RuntimeDetail,
  RuntimeTestResponse,
} from '@joblet/spec';
import type { ApiClient } from '../api-client.js';
import { CliError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { paint, type Io } from '../io.js';
import { formatDuration } from '../render/format.js';
import type { CommandDef } from '../command.js';

export async function runtimeRemove(
  client: ApiClient,
  ref: string,
  opts: { yes?: boolean; interactive: boolean },
  io: Io,
): Promise<number> {
  // Removing every version asks first, but only a person at a terminal: a script (stdin not a
  // terminal) proceeds, as Joblet's `rnx runtime remove` does. --yes skips the question anywhere.
  if (!ref.includes('@') && !opts.yes && opts.interactive) {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    const answer = await rl.question(
      `Remove ALL versions of ${ref} from the farm and every node? [y/N] `,
    );
    rl.close();
    if (!/^y(es)?$/i.test(answer.trim())) {
      io.out('Nothing removed.');
      return EXIT.FAILED;
    }
  }
  const { removed } = await client.request(
    'DELETE',
    `/v1/runtimes/${encodeURIComponent(ref)}`,
    undefined,
    RemoveRuntimeResponse,
  );
  for (const r of removed)
    io.out(
      `${paint(io, 'green', '✓')} removed ${r.name}@${r.version} (index, artifacts; nodes uninstall it)`,
    );
  return EXIT.OK;
}

export async function runtimeTest(
  client: ApiClient,
  ref: string,
  opts: { node?: string; json?: boolean },
  io: Io,
): Promise<number> {
  if (!opts.json) io.out(`Testing runtime: ${ref}`);
  const r = await client.post(
    `/v1/runtimes/${encodeURIComponent(ref)}/test`,
    opts.node ? { node: opts.node } : {},
    RuntimeTestResponse,
  );
  if (opts.json) {
    io.out(JSON.stringify(r, null, 2));
    return r.exitCode === 0 ? EXIT.OK : EXIT.FAILED;
  }
  const ok = r.exitCode === 0;
  io.out(
    `${ok ? paint(io, 'green', '✓ Runtime test passed') : paint(io, 'red', '✗ Runtime test failed')} ` +
      `on ${r.node} (${r.arch}): ${r.command.join(' ')} exited ${r.exitCode} in ${formatDuration(r.durationMs)}`,
  );
  io.out(`Output: ${r.output.trim()}`);
  io.out('');
  io.out('To run a job in it:');
  io.out(`  rnx job run --runtime=${r.name}@${r.version} <command>`);
  return ok ? EXIT.OK : EXIT.FAILED;
}

/**
 * Waits until every online node of each built arch reports the runtime installed, printing a line
 * per node as its state changes; fails on a node's `failed` report or the timeout.
 */
export async function waitDeploy(
  client: ApiClient,
  ref: string,
  timeoutS: number,
  io: Io,
): Promise<number> {
  const deadline = Date.now() + timeoutS * 1000;
  const seen = new Map<string, string>();
  for (;;) {
    const d = await client.get(`/v1/runtimes/${encodeURIComponent(ref)}`, RuntimeDetail);
    for (const i of d.installs) {
      const line = `${i.state}${i.error ? `: ${i.error}` : ''}`;
      if (seen.get(i.node) !== line) {
        seen.set(i.node, line);
        io.out(`  [${i.node}] ${line}`);
      }
      if (i.state === 'failed' && i.online) {
        throw new CliError(`deploy of ${ref} failed on ${i.node}: ${i.error ?? 'no reason given'}`);
      }
    }
    const { installed, total } = d.summary.nodes;
    if (total > 0 && installed === total) {
      // The summary counts online nodes only: a node that is down is not deployed to either.
      const lacking = await offlineNodesLacking(client, d);
      if (lacking.length > 0) {
        throw new CliError(
          `deploy of ${ref} incomplete: installed on ${installed} online node(s), but ${lacking.join(', ')} ${lacking.length > 1 ? 'are' : 'is'} offline without it`,
        );
      }
      io.out(`${paint(io, 'green', '✓')} deployed to ${installed}/${total} nodes`);
      return EXIT.OK;
    }
    if (Date.now() > deadline) {
      throw new CliError(
        `deploy of ${ref} not complete after ${timeoutS} s: ${installed}/${total} nodes${total === 0 ? ' (no online node of its architectures)' : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Offline nodes of the runtime's architectures that do not report this version installed. */
async function offlineNodesLacking(client: ApiClient, d: RuntimeDetail): Promise<string[]> {
  const { nodes } = await client.get('/v1/nodes', ListNodesResponse);
  const { name, version, arches } = d.summary;
  return nodes
    .filter((n) => !n.online && arches.includes(n.arch))
    .filter(
      (n) =>
        !n.runtimes.some(
          (r) => r.name === name && r.version === version && r.state === 'installed',
        ),
    )
    .map((n) => n.name);
}

export const commands: readonly CommandDef[] = [
  {
    path: 'runtime test',
    define: (cmd, { io, state, client }) =>
      cmd
        .description('run the runtime’s language binary on a node that has it installed')
        .argument('<ref>', 'name, name@1.2.3, name@latest or language:version')
        .option('--node <name>', 'run on this node')
        .option('--json', 'print JSON')
        .action(async (ref: string, o: { node?: string; json?: boolean }) => {
          state.exitCode = await runtimeTest(client(), ref, o, io);
        }),
  },
  {
    path: 'runtime remove',
    define: (cmd, { io, state, client, interactive }) =>
      cmd
        .description(
          'remove a runtime (all versions, or name@version) from the farm and every node; asks first on a terminal',
        )
        .argument('<ref>', 'name or name@version')
        .option('-y, --yes', 'do not ask, even on a terminal')
        .action(async (ref: string, o: { yes?: boolean }) => {
          state.exitCode = await runtimeRemove(client(), ref, { ...o, interactive }, io);
        }),
  },
];
