/**
 * Removes one runtime version from the node — never while a job uses it. With live leases the
 * removal is deferred (state `removing`, no new leases) and the caller retries once they are gone.
 * The tree disappears atomically: renamed to a trash sibling under the gate, then deleted. The
 * `<name>/` dir goes with its last version.
 */
import { rename } from 'node:fs/promises';
import type { Logger } from '@joblet/logging';
import { acquireFileLock } from '@joblet/sandbox';
import { removeTree } from '@joblet/artifact';
import { deleteInstallRecord } from './install-record.js';
import { exists, runtimeKey, type RuntimeLayout } from './layout.js';
import { liveLeases, removeEmptyLeaseDir, withGate } from './leases.js';
import { clearRemoving, markRemoving } from './removal-marker.js';
import type { StatusReporter } from './status-reporter.js';

export type RemoveOutcome =
  { kind: 'absent' } | { kind: 'removed' } | { kind: 'deferred'; leases: number };

export interface RemoverOptions {
  layout: RuntimeLayout;
  status: StatusReporter;
  log: Logger;
}

export class Remover {
  constructor(private readonly o: RemoverOptions) {}

  async remove(name: string, version: string, signal: AbortSignal): Promise<RemoveOutcome> {
    const { layout, status } = this.o;
    const log = this.o.log.child({ runtime: runtimeKey(name, version) });
    const place = layout.versionDir(name, version);
    if (!(await exists(place))) {
      await this.forget(name, version);
      // An empty `<name>/` an older agent's failed install left goes with the runtime.
      await layout.removeNameDirIfEmpty(name);
      return { kind: 'absent' };
    }
    const lock = await acquireFileLock(layout.lockFile(name, version), { signal });
    try {
      const step = await withGate(layout, name, version, async () => {
        if (!(await exists(place))) return { kind: 'absent' as const };
        const live = await liveLeases(layout, name, version);
        if (live.length > 0) {
          await markRemoving(layout, name, version);
          return { kind: 'deferred' as const, leases: live.length };
        }
        const trash = layout.tempDir(name, version, 'trash');
        await rename(place, trash);
        await deleteInstallRecord(layout, name, version);
        await clearRemoving(layout, name, version);
        await removeEmptyLeaseDir(layout, name, version);
        return { kind: 'removed' as const, trash };
      });
      switch (step.kind) {
        case 'absent':
          await this.forget(name, version);
          return step;
        case 'deferred':
          log.info({ leases: step.leases }, 'removal deferred: runtime in use');
          await status.report(name, version, 'removing');
          return step;
        case 'removed':
          await removeTree(step.trash);
          // Only when empty: another version, or another agent's install, may be in there.
          await layout.removeNameDirIfEmpty(name);
          await status.clear(name, version);
          log.info('runtime removed');
          return { kind: 'removed' };
      }
    } finally {
      await lock.release();
    }
  }

  /** Drops the bookkeeping of a runtime that is not on disk. */
  private async forget(name: string, version: string): Promise<void> {
    const { layout } = this.o;
    await deleteInstallRecord(layout, name, version);
    await clearRemoving(layout, name, version);
    await this.o.status.clear(name, version);
  }
}
