// Volumes: named persistent directories on this node, `AGENT_VOLUMES_DIR/<name>`, bound writable
// at `/volumes/<name>` in the jobs that ask for them. The API keeps the registry of names
// (`keys.volumes(node)`) and asks this agent, through the node's queue, to create or remove the
// directory. A volume that a running job has mounted is never removed.
// A sized volume (`rnx volume create NAME --size=10GB`) is a filesystem of its own: the ext4
// image `AGENT_VOLUMES_DIR/.images/<name>.ext4` (sparse, with a journal) loop-mounted at
// `<name>`, so a write past the size fails with ENOSPC. Images are mounted again at start-up
// (after a reboot); removal unmounts, detaches and deletes everything.
import { chmod, chown, lstat, mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Keys, RedisClient } from '@joblet/queue';
import {
  NOBODY,
  createDiskImage,
  isMountPoint,
  mountDiskImage,
  releaseDiskImage,
  type BindMount,
} from '@joblet/sandbox';
import { UnrecoverableError } from 'bullmq';
import { removeTree } from '@joblet/artifact';
import type { Logger } from '@joblet/logging';
import { VolumeName } from '@joblet/spec';
import { JobFailure } from './job-errors.js';

/** Where sized volumes' images live (a name no volume can have: names start alphanumeric). */
const IMAGES_DIR = '.images';

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

  /** The image of a sized volume (whether or not it exists). */
  private image(name: string): string {
    return join(this.o.root, IMAGES_DIR, `${checkName(name)}.ext4`);
  }

  /** Size of a sized volume's image in bytes; undefined for a plain (or missing) volume. */
  async sizeOf(name: string): Promise<number | undefined> {
    return (await stat(this.image(name)).catch(() => undefined))?.size;
  }

  /**
   * Creates the root, 0755: jobs (uid 65534) must traverse it to reach their volume; and mounts
   * every sized volume not mounted (after a reboot, or a crash between create and mount).
   */
  async prepare(): Promise<void> {
    await mkdir(this.o.root, { recursive: true, mode: 0o755 });
    await mkdir(join(this.o.root, IMAGES_DIR), { recursive: true, mode: 0o700 });
    for (const f of await readdir(join(this.o.root, IMAGES_DIR))) {
      const name = f.replace(/\.ext4$/, '');
      if (f === name || !VolumeName.safeParse(name).success) continue;
      await this.ensureMounted(name);
    }
  }

  private async ensureMounted(name: string): Promise<void> {
    const path = this.dir(name);
    if (!(await isMountPoint(path))) await mountDiskImage(this.image(name), path);
  }

  /**
   * Creates the volume: a directory owned by the sandbox uid, or with `sizeBytes` a filesystem
   * of that size. Creating one that exists with the same size is fine; another size is refused.
   */
  async create(
    name: string,
    sizeBytes?: number,
  ): Promise<{ name: string; path: string; sizeBytes?: number }> {
    const path = this.dir(name);
    await mkdir(join(this.o.root, IMAGES_DIR), { recursive: true, mode: 0o700 });
    const st = await lstat(path).catch(() => undefined);
    if (st && !st.isDirectory()) throw new VolumeError(`${path} exists and is not a directory`);
    const had = await this.sizeOf(name);
    if (st && had !== sizeBytes) {
      throw new VolumeError(
        `volume ${name} exists ${had === undefined ? 'without a size' : `with ${had} bytes`}; remove it first to change its size`,
      );
    }
    if (sizeBytes !== undefined) {
      if (st) await this.ensureMounted(name);
      else {
        await createDiskImage({
          image: this.image(name),
          mountPoint: path,
          sizeBytes,
          journal: true,
        });
        await chmod(path, 0o755);
      }
      return { name, path, sizeBytes };
    }
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
    // A sized volume: unmounted, its loop device detached and its image deleted first.
    await releaseDiskImage(this.image(name), path);
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
        // A sized volume is only ever bound mounted: never the bare directory beneath it.
        if ((await this.sizeOf(n)) !== undefined) await this.ensureMounted(n);
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

/**
 * A volume change asked through the node queue: logged when done; a refusal (VolumeError: bad
 * name, in use, exists) fails the queue job at once instead of being retried.
 */
export async function volumeQueueOp(
  log: Logger,
  op: string,
  name: string,
  run: () => Promise<unknown>,
): Promise<unknown> {
  try {
    const r = await run();
    log.info({ volume: name, op }, 'volume changed');
    return r;
  } catch (err) {
    if (err instanceof VolumeError) throw new UnrecoverableError(err.message);
    throw err;
  }
}
