/** FarmState backed by the real farm: the artifact store's index and BullMQ's worker lists. */
import type { Queue } from 'bullmq';
import type { Arch } from '@joblet/spec';
import { indexKey, type ArtifactStore } from '@joblet/storage';
import type { FarmState } from './farm-state.js';

export function liveFarmState(
  store: ArtifactStore,
  buildQueues: ReadonlyMap<Arch, Queue>,
): FarmState {
  return {
    runtimeVersionExists: (name, version) => store.exists(indexKey(name, version)),
    async workersByArch() {
      const out: Partial<Record<Arch, number>> = {};
      for (const [arch, queue] of buildQueues) out[arch] = await queue.getWorkersCount();
      return out;
    },
  };
}
