// Volumes: named persistent directories on this node, `AGENT_VOLUMES_DIR/<name>`, bound writable
// at `/volumes/<name>` in the jobs that ask for them. The API keeps the registry of names
// (`keys.volumes(node)`) and asks this agent, through the node's queue, to create or remove the
// directory. A volume that a running job has mounted is never removed.
import { chmod, chown, lstat, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Keys, RedisClient } from '@joblet/queue';
import { NOBODY, type BindMount } from '@joblet/sandbox';
import { removeTree } from '@joblet/artifact';
import { VolumeName } from '@joblet/spec';
import { JobFailure } from './job-errors.js';

/** A volume request the agent refuses (bad name, in use): not worth a retry. */
export class VolumeError extends Error {
  override readonly name = 'VolumeError';
}

export interface VolumeManagerOptions {
  /** AGENT_VOLUMES_DIR. */
  root: string;
  node: string;
  redis: RedisClient;
  keys: Keys;
}

function checkName(name: string): string {
  const parsed = VolumeName.safeParse(name);
  if (!parsed.success || name.includes('..')) {
    throw new VolumeError(`invalid volume name ${JSON.stringify(name)}`);
  }
  return name;
}

export class VolumeManager {
  /** Volume name → ids of the running jobs that mount it. */
  private readonly users = new Map<string, Set<string>>();

  constructor(private readonly o: VolumeManagerOptions) {}

  dir(name: string): string {
    return join(this.o.root, checkName(name));
  }

  /** Creates the root, 0755: jobs (uid 65534) must traverse it to reach their volume. */
  async prepare(): Promise<void> {
    await mkdir(this.o.root, { recursive: true, mode: 0o755 });
  }

  /** Creates the volume's directory, owned by the sandbox uid. Creating one that exists is fine. */
  async create(name: string): Promise<{ name: string; path: string }> {
    const path = this.dir(name);
    await this.prepare();
    const st = await lstat(path).catch(() => undefined);
    if (st && !st.isDirectory()) throw new VolumeError(`${path} exists and is not a directory`);
    if (!st) {
      await mkdir(path, { mode: 0o755 });
      await chmod(path, 0o755);
      if (process.getuid?.() === 0) await chown(path, NOBODY, NOBODY);
    }
    return { name, path };
  }

  /** Deletes the volume and its data; refused while a running job mounts it. */
  async remove(name: string): Promise<{ name: string; removed: boolean }> {
    const path = this.dir(name);
    const users = this.users.get(name);
    if (users && users.size > 0) {
      throw new VolumeError(
        `volume ${name} is in use by running job(s) ${[...users].join(', ')}; stop them first`,
      );
    }
    const existed = (await lstat(path).catch(() => undefined)) !== undefined;
    await removeTree(path);
    return { name, removed: existed };
  }

  /**
   * Marks `names` as mounted by `jobId` and returns their binds. Each must be registered for this
   * node and exist on disk; otherwise a start-failed JobFailure (nothing is held then).
   */
  async acquire(jobId: string, names: readonly string[]): Promise<BindMount[]> {
    if (names.length === 0) return [];
    // Registered in use first, so a remove arriving meanwhile is refused.
    for (const n of names) {
      let set = this.users.get(n);
      if (!set) this.users.set(n, (set = new Set()));
      set.add(jobId);
    }
    try {
      const registered = new Set(await this.o.redis.smembers(this.o.keys.volumes(this.o.node)));
      const binds: BindMount[] = [];
      for (const n of names) {
        let path: string;
        try {
          path = this.dir(n);
        } catch (e) {
          throw new JobFailure((e as Error).message, 'start-failed');
        }
        const st = await lstat(path).catch(() => undefined);
        if (!registered.has(n) || !st?.isDirectory()) {
          throw new JobFailure(
            `volume ${n} does not exist on node ${this.o.node}; create it with rnx volume create`,
            'start-failed',
          );
        }
        binds.push({ source: path, target: `/volumes/${n}`, readonly: false });
      }
      return binds;
    } catch (e) {
      this.release(jobId, names);
      throw e;
    }
  }

  release(jobId: string, names: readonly string[]): void {
    for (const n of names) {
      const set = this.users.get(n);
      set?.delete(jobId);
      if (set?.size === 0) this.users.delete(n);
    }
  }
}
