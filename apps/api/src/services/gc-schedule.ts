/**
 * Runs the garbage collector every `intervalS` seconds (`GC_INTERVAL_S`; 0 = never). Every replica
 * may run the timer: the collector's Redis lock lets one collect at a time, the others skip.
 */
import type { Logger } from '@joblet/logging';
import { ApiError } from '../plugins/errors.js';
import type { GcService } from './gc-service.js';

/** Starts the timer; returns how to stop it. */
export function scheduleGc(gc: GcService, intervalS: number, log: Logger): () => void {
  if (intervalS <= 0) return () => undefined;
  const gcLog = log.child({ task: 'gc' });
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      await gc.collect({ dryRun: false, log: gcLog });
    } catch (err) {
      if (err instanceof ApiError && err.code === 'CONFLICT')
        gcLog.debug('another replica is collecting');
      else gcLog.error({ err }, 'garbage collection failed');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void tick(), intervalS * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
