/**
 * What ends a running job from outside its process: its timeout, and — where the kernel kills
 * only the largest process on OOM (cgroup v1; v2 has `memory.oom.group`) — a watch of the cgroup's
 * OOM kills that finishes the rest of the job, as v2 would. Returns the timers to clear.
 */
import type { Cgroup } from '@joblet/sandbox';
import type { JobRecord } from '@joblet/spec';

export interface JobWatch {
  cgroup: Cgroup | undefined;
  /** The kernel kills the whole cgroup on OOM (no watch needed). */
  oomGroup: boolean;
  oomPollMs: number;
  onTimeout: () => void;
  onOom: () => void;
}

export function watchJob(record: JobRecord, w: JobWatch): NodeJS.Timeout[] {
  const timers: NodeJS.Timeout[] = [];
  const { timeoutS, maxMemoryMB } = record.limits;
  if (timeoutS !== undefined) timers.push(setTimeout(w.onTimeout, timeoutS * 1000));
  const cg = w.cgroup;
  if (cg && maxMemoryMB !== undefined && !w.oomGroup) {
    const poll = setInterval(() => {
      void cg.stats().then(
        (s) => {
          if (s.oomKills > 0) {
            clearInterval(poll);
            w.onOom();
          }
        },
        () => undefined,
      );
    }, w.oomPollMs);
    timers.push(poll);
  }
  return timers;
}
