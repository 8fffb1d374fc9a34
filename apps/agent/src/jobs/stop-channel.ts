/**
 * The farm's stop channel (`rnx job stop`): the API publishes `{ jobId }` and every agent hears
 * it on a subscriber connection of its own; `onStop` gets each well-formed id (the agent acts
 * only on the jobs it runs or holds waiting).
 */
import type { Logger } from '@joblet/logging';
import type { RedisClient } from '@joblet/queue';

export async function subscribeStops(
  redis: RedisClient,
  channel: string,
  log: Logger,
  onStop: (jobId: string) => void,
): Promise<RedisClient> {
  const sub = redis.duplicate();
  sub.on('message', (_channel: string, message: string) => {
    let jobId: unknown;
    try {
      jobId = (JSON.parse(message) as { jobId?: unknown }).jobId;
    } catch {
      return;
    }
    if (typeof jobId === 'string') onStop(jobId);
  });
  sub.on('error', (err) => log.warn({ err }, 'stop channel error'));
  await sub.subscribe(channel);
  return sub;
}
