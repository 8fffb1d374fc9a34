/**
 * What the API asks the rest of the farm when it answers a request: which runtimes exist and which
 * worker pools are alive. An interface so routes stay testable with `app.inject()`; the real
 * implementation reads the object store index and BullMQ's worker lists.
 */
import type { Arch } from '@joblet/spec';

export interface FarmState {
  /** Whether `index/<name>/<version>.json` exists in the artifact store. */
  runtimeVersionExists(name: string, version: string): Promise<boolean>;
  /** Live BullMQ workers per architecture build queue. */
  workersByArch(): Promise<Partial<Record<Arch, number>>>;
}
