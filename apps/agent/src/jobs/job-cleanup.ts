// What a job held, given back after its final state is recorded: each step tried even when one
// before it failed (a failure is logged, never thrown), and the time it took noted with the
// job's other phases. The runner does not wait for it before taking the next job; it waits for
// it at shutdown, and holds back new jobs while too many clean-ups are still running.
import type { Logger } from '@joblet/logging';

export interface JobCleanup {
  /** In order: what to give back, as [name for the log, step]. */
  steps: [string, () => Promise<unknown>][];
  /** The execution's phases, logged at the end (where a job's time goes). */
  phases: Record<string, number>;
  /** Notes the time since the previous mark under this phase name. */
  mark: (phase: string) => void;
  /** Awaited first (JobRunnerOptions.beforeCleanup, tests). */
  before?: () => Promise<void>;
}

/** Runs the clean-up steps; never rejects. */
export async function cleanupJob(log: Logger, c: JobCleanup): Promise<void> {
  c.mark('final');
  await c.before?.().catch(() => undefined);
  for (const [what, step] of c.steps) {
    await step().catch((err: unknown) => log.error({ err, step: what }, 'job cleanup failed'));
  }
  c.mark('cleanup');
  log.debug({ phasesMs: c.phases }, 'job cleaned up');
}

/**
 * The clean-ups of ended jobs still running. `room()` waits while more than `max` of them run
 * (the runner's capacity): a burst of short jobs does not pile up clean-ups faster than they
 * finish, while a job never waits for the clean-up of the one before it. Each is also in
 * `inflight`, which the runner drains at shutdown.
 */
export class Cleanups {
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly max: number,
    private readonly inflight: Set<Promise<unknown>>,
  ) {}

  get size(): number {
    return this.running.size;
  }

  track(p: Promise<void>): void {
    const tracked = p.finally(() => {
      this.running.delete(tracked);
      this.inflight.delete(tracked);
    });
    this.running.add(tracked);
    this.inflight.add(tracked);
  }

  async room(): Promise<void> {
    while (this.running.size > this.max) await Promise.race(this.running);
  }
}
