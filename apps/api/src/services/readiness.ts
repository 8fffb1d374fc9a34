/**
 * The readiness check behind `/readyz`: Redis PING and the store's `ensureReady`, each bounded by
 * a timeout — the same check the worker's and agent's probes run (`readinessOf` of
 * @joblet/logging). The route is public, so answers are cached for a second (a flood of probes
 * costs one check per second) and errors are reduced to a short code, never a URL or a
 * credential.
 */
import { readinessOf } from '@joblet/logging';
import type { ReadyResponse } from '@joblet/spec';
import type { RedisClient } from '@joblet/queue';
import type { ArtifactStore } from '@joblet/storage';

export function readiness(s: {
  redis: RedisClient;
  store: ArtifactStore;
}): () => Promise<ReadyResponse> {
  const ready = readinessOf({ redis: () => s.redis.ping(), store: () => s.store.ensureReady() });
  // The checks are named redis and store, so the answer has ReadyResponse's shape.
  return () => ready() as Promise<ReadyResponse>;
}
