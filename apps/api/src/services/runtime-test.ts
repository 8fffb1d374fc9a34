/**
 * `rnx runtime test`: really runs the runtime's language binary on a node that has it installed,
 * through that node's own queue, and waits for the answer.
 */
import { z } from 'zod';
import type { Arch, RuntimeTestResponse } from '@joblet/spec';
import { RUNTIME_TEST_CALL_TIMEOUT_MS, RUNTIME_TEST_JOB } from '@joblet/queue';
import { ApiError } from '../plugins/errors.js';
import type { NodeService } from './node-service.js';
import type { RuntimeService } from './runtime-service.js';

/** What a runtime test uses: the runtime's entry, the nodes that have it, and a node call. */
export interface RuntimeTestDeps {
  runtimes: Pick<RuntimeService, 'resolve'>;
  nodes: Pick<NodeService, 'list'>;
  /** The request's call to the chosen node (NodeCalls.call, bound to its response). */
  callNode: (
    node: string,
    kind: typeof RUNTIME_TEST_JOB,
    data: { name: string; version: string },
    timeoutMs: number,
  ) => Promise<unknown>;
}

const AgentTestResult = z.object({
  exitCode: z.number(),
  output: z.string(),
  durationMs: z.number(),
  command: z.array(z.string()).default([]),
});

export async function testRuntime(
  s: RuntimeTestDeps,
  ref: string,
  opts: { node?: string; arch?: Arch },
): Promise<RuntimeTestResponse> {
  const entry = await s.runtimes.resolve(ref);
  const nodes = await s.nodes.list();
  const candidates = nodes.filter(
    (n) =>
      n.online &&
      (!opts.node || n.name === opts.node) &&
      (!opts.arch || n.arch === opts.arch) &&
      n.runtimes.some(
        (r) => r.name === entry.name && r.version === entry.version && r.state === 'installed',
      ),
  );
  const node = candidates[0];
  if (!node) {
    const where = opts.node
      ? `node ${opts.node}`
      : opts.arch
        ? `an online ${opts.arch} node`
        : 'any online node';
    throw new ApiError(
      409,
      'CONFLICT',
      `${entry.name}@${entry.version} is not installed on ${where} yet; see rnx node list`,
    );
  }
  const raw = await s.callNode(
    node.name,
    RUNTIME_TEST_JOB,
    { name: entry.name, version: entry.version },
    RUNTIME_TEST_CALL_TIMEOUT_MS,
  );
  const result = AgentTestResult.parse(raw);
  return { name: entry.name, version: entry.version, node: node.name, arch: node.arch, ...result };
}
