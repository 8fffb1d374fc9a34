/**
 * `rnx node cordon|uncordon|drain|remove <name>` (admin), like `kubectl cordon`, `nomad node
 * drain` and `kubectl delete node`: a cordoned node runs what it has and takes no new job; a
 * drain also waits until the node runs nothing (`--deadline`: then the farm stops what is left);
 * remove forgets an offline node and cancels the jobs queued for it alone.
 */
import { InvalidArgumentError } from 'commander';
import {
  ListNodesResponse,
  NodeView,
  RemoveNodeResponse,
  parseDuration,
  type NodeScheduleRequest,
} from '@joblet/spec';
import type { ApiClient } from '../api-client.js';
import type { CommandDef } from '../command.js';
import { CliError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { paint, type Io } from '../io.js';

const nodePath = (name: string, action?: string) =>
  `/v1/nodes/${encodeURIComponent(name)}${action ? `/${action}` : ''}`;

function deadline(value: string): number {
  const s = parseDuration(value);
  if (s === undefined) throw new InvalidArgumentError('a duration such as 90s, 10m or 1h');
  return s;
}

export interface DrainOptions {
  reason?: string;
  deadlineS?: number;
  /** Return once the drain is set, without waiting for the node's jobs. */
  wait: boolean;
  /** How often to look (ms). */
  pollMs?: number;
  json?: boolean;
}

async function schedule(
  client: ApiClient,
  name: string,
  action: 'cordon' | 'drain',
  body: NodeScheduleRequest,
): Promise<NodeView> {
  return client.request('POST', nodePath(name, action), body, NodeView);
}

export async function nodeDrain(
  client: ApiClient,
  name: string,
  o: DrainOptions,
  io: Io,
): Promise<number> {
  const body = {
    ...(o.reason && { reason: o.reason }),
    ...(o.deadlineS !== undefined && { deadlineS: o.deadlineS }),
  };
  let node = await schedule(client, name, 'drain', body);
  const until =
    o.deadlineS !== undefined ? `; what runs at ${node.schedule?.deadline} is stopped` : '';
  if (!o.json) io.out(`${paint(io, 'green', '✓')} node ${name} is draining: no new jobs${until}`);
  let shown = -1;
  // Drained: a heartbeat sent after the drain began (the agent had stopped taking jobs) lists none.
  const since = Date.parse(node.schedule?.since ?? new Date().toISOString());
  const busy = (n: NodeView) =>
    Date.parse(n.lastHeartbeat) <= since || (n.runningJobs?.length ?? 0) > 0;
  while (o.wait && node.online && busy(node)) {
    const left = node.runningJobs?.length ?? 0;
    if (left > 0 && left !== shown && !o.json) io.out(`  waiting for ${left} running job(s)`);
    shown = left;
    await new Promise((r) => setTimeout(r, o.pollMs ?? 2000));
    const { nodes } = await client.get('/v1/nodes', ListNodesResponse);
    const now = nodes.find((n) => n.name === name);
    if (!now) throw new CliError(`node ${name} was removed while draining`, EXIT.FAILED);
    node = now;
  }
  if (o.json) io.out(JSON.stringify(node, null, 2));
  else if (o.wait)
    io.out(
      `${paint(io, 'green', '✓')} node ${name} is drained: it runs no job` +
        (node.online ? '' : ' (it is offline)'),
    );
  return EXIT.OK;
}

export const commands: readonly CommandDef[] = [
  {
    path: 'node cordon',
    define: (cmd, { io, state, client }) =>
      cmd
        .description('keep new jobs off a node; what it runs goes on')
        .argument('<name>', 'node name (rnx node list)')
        .option('--reason <text>', 'why (shown with the node, and to jobs refused there)')
        .option('--json', 'print JSON')
        .action(async (name: string, o: { reason?: string; json?: boolean }) => {
          const node = await schedule(
            client(),
            name,
            'cordon',
            o.reason ? { reason: o.reason } : {},
          );
          if (o.json) io.out(JSON.stringify(node, null, 2));
          else io.out(`${paint(io, 'green', '✓')} node ${name} is cordoned: no new jobs`);
          state.exitCode = EXIT.OK;
        }),
  },
  {
    path: 'node uncordon',
    define: (cmd, { io, state, client }) =>
      cmd
        .description('let a cordoned or draining node take jobs again')
        .argument('<name>', 'node name')
        .option('--json', 'print JSON')
        .action(async (name: string, o: { json?: boolean }) => {
          const node = await client().request('POST', nodePath(name, 'uncordon'), {}, NodeView);
          if (o.json) io.out(JSON.stringify(node, null, 2));
          else io.out(`${paint(io, 'green', '✓')} node ${name} takes jobs again`);
          state.exitCode = EXIT.OK;
        }),
  },
  {
    path: 'node drain',
    define: (cmd, { io, state, client }) =>
      cmd
        .description('cordon a node and wait until it runs no job')
        .argument('<name>', 'node name')
        .option('--deadline <duration>', 'then stop the jobs still running (e.g. 10m)', deadline)
        .option('--reason <text>', 'why (shown with the node)')
        .option('--no-wait', 'return once the drain is set')
        .option('--json', 'print the node as JSON at the end')
        .action(
          async (
            name: string,
            o: { deadline?: number; reason?: string; wait: boolean; json?: boolean },
          ) => {
            state.exitCode = await nodeDrain(
              client(),
              name,
              { ...o, ...(o.deadline !== undefined && { deadlineS: o.deadline }) },
              io,
            );
          },
        ),
  },
  {
    path: 'node remove',
    define: (cmd, { io, state, client }) =>
      cmd
        .description('forget an offline node; jobs queued for it alone are canceled')
        .argument('<name>', 'node name')
        .option('--json', 'print JSON')
        .action(async (name: string, o: { json?: boolean }) => {
          const r = await client().request('DELETE', nodePath(name), undefined, RemoveNodeResponse);
          if (o.json) io.out(JSON.stringify(r, null, 2));
          else
            io.out(
              `${paint(io, 'green', '✓')} node ${name} removed` +
                (r.canceledJobs.length
                  ? `; canceled the job(s) queued for it: ${r.canceledJobs.join(', ')}`
                  : '') +
                (r.credential === 'revoked' ? '; its Redis user is deleted' : ''),
            );
          if (r.credential.startsWith('kept'))
            io.err(`${paint(io, 'yellow', '!')} its Redis user is ${r.credential}`);
          state.exitCode = EXIT.OK;
        }),
  },
];
