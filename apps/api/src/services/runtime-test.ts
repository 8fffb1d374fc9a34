/**
 * `rnx runtime test`: really runs the runtime's language binary on a node that has it installed,
 * through that node's own queue, and waits for the answer.
 */
import { Queue, QueueEvents } from 'bullmq';
import { z } from 'zod';
import type { Arch, RuntimeTestResponse } from '@joblet/spec';
import { JOB_NAMES, nodeQueueName } from '@joblet/queue';
import { ApiError } from '../plugins/errors.js';
import type { Services } from './services.js';

const AgentTestResult = z.object({
  exitCode: z.number(),
  output: z.string(),
  durationMs: z.number(),
  command: z.array(z.string()).default([]),
});

/** How long a test may take, start-up of a JVM on a loaded node included. */
export const RUNTIME_TEST_TIMEOUT_MS = 60_000;

export async function testRuntime(
  s: Services,
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
  const queueName = nodeQueueName(node.name);
  const queue = new Queue(queueName, { connection: s.redis, prefix: s.prefix });
  const events = new QueueEvents(queueName, { connection: s.redis.duplicate(), prefix: s.prefix });
  try {
    await events.waitUntilReady();
    const job = await queue.add(
      JOB_NAMES.runtimeTest,
      { name: entry.name, version: entry.version },
      { removeOnComplete: { age: 3600 }, removeOnFail: { age: 3600 } },
    );
    let raw: unknown;
    try {
      raw = await job.waitUntilFinished(events, RUNTIME_TEST_TIMEOUT_MS);
    } catch (err) {
      throw new ApiError(
        503,
        'UNAVAILABLE',
        `runtime test on ${node.name} did not finish: ${(err as Error).message}`,
      );
    }
    const result = AgentTestResult.parse(raw);
    return {
      name: entry.name,
      version: entry.version,
      node: node.name,
      arch: node.arch,
      ...result,
    };
  } finally {
    await events.close();
    await queue.close();
  }
}
