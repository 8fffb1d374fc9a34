/**
 * Bull Board at `/admin/queues` (admin only): the raw BullMQ queues — `build-<arch>`, `publish`,
 * `jobs-<arch>` and every registered node's `node-<name>` — for operators who need to see or
 * retry a job by hand. Bull Board's routes declare no role, so they are registered in a scope whose
 * default route role is `admin` (see `defaultRouteRole`): the auth hook enforces it like any other
 * route's. Errors in that scope go through the API's error handler, not Bull Board's (which would
 * answer a 401 as a 500 with a stack trace).
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { PUBLISH_QUEUE, buildQueueName, jobQueueName, nodeQueueName } from '@joblet/queue';
import { defaultRouteRole } from './roles.js';

export const BULL_BOARD_PATH = '/admin/queues';
/** How often the list of node queues is refreshed from the registered nodes (ms). */
const NODE_REFRESH_MS = 30_000;

/** Registered in a scope of its own (its default route role); uses the app's farm clients. */
export async function bullBoard(scope: FastifyInstance): Promise<void> {
  const { redis, keys, settings } = scope;
  defaultRouteRole(scope, 'admin');
  const apiErrors = scope.errorHandler;
  scope.addHook('onRoute', (route) => {
    route.errorHandler = apiErrors;
  });

  const queues = new Map<string, Queue>();
  const queue = (name: string) => {
    let q = queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: redis, prefix: settings.prefix });
      queues.set(name, q);
    }
    return new BullMQAdapter(q);
  };
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  const board = createBullBoard({
    queues: [
      ...settings.architectures.map((a) => queue(buildQueueName(a))),
      queue(PUBLISH_QUEUE),
      ...settings.architectures.map((a) => queue(jobQueueName(a))),
    ],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Joblet farm queues' } },
  });

  // Nodes come and go: their queues are added when the board is used, at most every 30 s.
  let refreshedAt = 0;
  scope.addHook('onRequest', async () => {
    if (Date.now() - refreshedAt < NODE_REFRESH_MS) return;
    refreshedAt = Date.now();
    for (const node of (await redis.smembers(keys.nodes)).sort()) {
      const name = nodeQueueName(node);
      if (!queues.has(name)) board.addQueue(queue(name));
    }
  });
  // Air-gapped farms: Bull Board's page links Google's web fonts; the page is served without
  // any external link (its CSS falls back to the system's sans-serif and monospace).
  scope.addHook('onSend', async (_request, reply, payload) => {
    const type = String(reply.getHeader('content-type') ?? '');
    return typeof payload === 'string' && type.startsWith('text/html')
      ? withoutExternalLinks(payload)
      : payload;
  });
  scope.addHook('onClose', async () => {
    await Promise.all([...queues.values()].map((q) => q.close()));
  });

  await scope.register(serverAdapter.registerPlugin(), { prefix: BULL_BOARD_PATH });
}

/** `html` without `<link>` elements that load from another origin (web fonts, CDNs). */
export function withoutExternalLinks(html: string): string {
  return html.replace(/<link\b[^>]*\bhref="(?:https?:)?\/\/[^"]*"[^>]*>\s*/gi, '');
}
