/**
 * Where a job goes: the node it is pinned to, the node holding its volumes, a node that allows
 * host networking, or the `jobs-<arch>` queue of the runtime's architecture with most nodes.
 *
 * A `network: host` job is always pinned to a node whose agent reports `allowHostNetwork`
 * (AGENT_ALLOW_HOST_NETWORK=true): on `jobs-<arch>` any node of the arch could take it. The agent
 * refuses such a job anyway when its setting is off; this keeps it from getting there.
 *
 * A job with `--cpu-cores` goes only to a node that has those CPUs (its heartbeat's `cpus`), and
 * is refused at submit, naming the field and the nodes' CPUs, when none has: on a 2-core node
 * `--cpu-cores 0-3` cannot be honoured, and running it on fewer cores would hide that.
 */
import {
  formatCpuList,
  parseCpuList,
  type Arch,
  type JobRequestParsed,
  type NodeView,
} from '@joblet/spec';
import type { Keys, RedisClient } from '@joblet/queue';
import { ApiError } from '../plugins/errors.js';

export interface JobRoute {
  arch: Arch;
  /** The node's own queue, not `jobs-<arch>`. */
  pinned?: string;
}

const HOST_SETTING = 'AGENT_ALLOW_HOST_NETWORK';

export async function routeJob(
  s: { redis: RedisClient; keys: Keys },
  req: JobRequestParsed,
  runtimeArches: Arch[],
  online: NodeView[],
  what: string,
): Promise<JobRoute> {
  const host = req.network === 'host';
  if (req.node) {
    const node = online.find((n) => n.name === req.node);
    if (!node)
      throw new ApiError(400, 'BAD_REQUEST', `node ${req.node} is not online`, [
        { field: 'node', message: 'not an online node' },
      ]);
    if (node.schedule) {
      const d = node.schedule;
      throw new ApiError(
        409,
        'CONFLICT',
        `node ${node.name} is ${d.state} (by ${d.by} since ${d.since}${d.reason ? `: ${d.reason}` : ''}) ` +
          `and takes no new jobs; rnx node uncordon ${node.name} lets it take jobs again`,
        [{ field: 'node', message: d.state }],
      );
    }
    if (!runtimeArches.includes(node.arch)) {
      throw new ApiError(
        400,
        'BAD_REQUEST',
        `${what} has no ${node.arch} build for node ${req.node} (built for ${runtimeArches.join(', ')})`,
        [{ field: 'node', message: `${node.arch} not built` }],
      );
    }
    if (host && !node.allowHostNetwork) {
      throw new ApiError(
        409,
        'CONFLICT',
        `node ${node.name} does not allow network host: its agent runs without ${HOST_SETTING}=true`,
        [{ field: 'node', message: `${HOST_SETTING} is off on ${node.name}` }],
      );
    }
    requireCpus(req, [node], what);
    await requireVolumes(s, node.name, req.volumes);
    return { arch: node.arch, pinned: node.name };
  }
  const ofArch = online.filter((n) => runtimeArches.includes(n.arch));
  const open = ofArch.filter((n) => !n.schedule);
  if (ofArch.length > 0 && open.length === 0) {
    throw new ApiError(
      409,
      'CONFLICT',
      `no node can take ${what} now: every online node of ${runtimeArches.join(', ')} is ` +
        `cordoned or draining (${ofArch.map((n) => `${n.name}: ${n.schedule!.state}`).join(', ')}); ` +
        `rnx node uncordon NAME lets one take jobs again`,
      [{ field: 'runtime', message: 'every node of its architectures is cordoned' }],
    );
  }
  const eligible = open.length > 0 ? requireCpus(req, open, what) : open;
  if (eligible.length === 0) {
    throw new ApiError(
      409,
      'CONFLICT',
      `no online node can run ${what}: it is built for ${runtimeArches.join(', ')} and no node of ${runtimeArches.length > 1 ? 'those architectures' : 'that architecture'} is online`,
      [{ field: 'runtime', message: 'no online node of its architectures' }],
    );
  }
  const candidates = host ? eligible.filter((n) => n.allowHostNetwork) : eligible;
  if (candidates.length === 0) {
    throw new ApiError(
      409,
      'CONFLICT',
      `no online node that can run ${what} allows network host: set ${HOST_SETTING}=true on the agent of a node meant for such jobs`,
      [{ field: 'network', message: `no node with ${HOST_SETTING}=true` }],
    );
  }
  if (req.volumes.length) {
    for (const n of candidates) {
      const have = await s.redis.smembers(s.keys.volumes(n.name));
      if (req.volumes.every((v) => have.includes(v))) return { arch: n.arch, pinned: n.name };
    }
    throw new ApiError(
      400,
      'BAD_REQUEST',
      `no online node${host ? ' allowing network host' : ''} has the volume(s) ${req.volumes.join(', ')}; create them with rnx volume create`,
      [{ field: 'volumes', message: 'not found on any eligible node' }],
    );
  }
  if (host || eligible.length < ofArch.length) {
    // Spread host jobs over the nodes that allow them; a job's cores to the nodes that have them
    // (on `jobs-<arch>` a node without them could take it).
    const n = candidates[Math.floor(Math.random() * candidates.length)]!;
    return { arch: n.arch, pinned: n.name };
  }
  const byArch = new Map<Arch, number>();
  for (const n of eligible) byArch.set(n.arch, (byArch.get(n.arch) ?? 0) + 1);
  const arch = [...byArch.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]![0];
  return { arch };
}

async function requireVolumes(
  s: { redis: RedisClient; keys: Keys },
  node: string,
  volumes: string[],
): Promise<void> {
  if (!volumes.length) return;
  const have = await s.redis.smembers(s.keys.volumes(node));
  const missing = volumes.filter((v) => !have.includes(v));
  if (missing.length) {
    throw new ApiError(
      400,
      'BAD_REQUEST',
      `node ${node} has no volume ${missing.join(', ')}; create it with rnx volume create`,
      [{ field: 'volumes', message: `missing on ${node}: ${missing.join(', ')}` }],
    );
  }
}

/** The CPUs a node lacks of `cores`: none when it does not report its CPUs (old agents). */
function missingCpus(node: NodeView, cores: number[]): number[] {
  if (node.cpus === undefined) return [];
  const have = parseCpuList(node.cpus) ?? [];
  return cores.filter((c) => !have.includes(c));
}

/**
 * The nodes of `nodes` that have the job's `--cpu-cores` (all of them when it names none).
 * @throws ApiError 400 naming `limits.cpuCores` and each node's CPUs when none has them.
 */
function requireCpus(req: JobRequestParsed, nodes: NodeView[], what: string): NodeView[] {
  const list = req.limits.cpuCores;
  if (list === undefined) return nodes;
  const cores = parseCpuList(list) ?? [];
  const fit = nodes.filter((n) => missingCpus(n, cores).length === 0);
  if (fit.length > 0) return fit;
  const have = nodes.map((n) => `${n.name} has ${n.cpus ?? '?'}`).join(', ');
  throw new ApiError(
    400,
    'BAD_REQUEST',
    `--cpu-cores ${list}: no online node that can run ${what} has CPU ${formatCpuList(
      missingCpus(nodes[0]!, cores),
    )} (${have}); name cores the node has, or leave --cpu-cores out`,
    [{ field: 'limits.cpuCores', message: `CPUs ${list} not on any node (${have})` }],
  );
}
