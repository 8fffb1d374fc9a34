/**
 * Language layers: the catalog's packages (e.g. `python3 python3-pip python3-venv`) installed
 * once on a base root, kept on the host as an overlay layer and shared by every build of that
 * base, so a build does not spend most of its time unpacking the same interpreter again.
 *
 * A layer is made by the first build that needs it (in a throwaway root, before any code of the
 * spec runs, from package lists fetched by apt itself) and is keyed by everything that decides
 * its content: suite, arch, the apt sources, the package-lists version and the package set. New
 * package lists (hourly at most) therefore mean a new layer with the updated packages. A layer is
 * immutable once published; old ones are removed only when no build can still be using them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { run, withFileLock, type IdRange } from '@joblet/sandbox';
import { subidTag } from './caches.js';
import { removeTree } from '@joblet/artifact';

export class PackageLayers {
  readonly root: string;

  /**
   * Layers are made in rootless sandboxes, so their files belong to `subids` (see
   * base-root/shifted.ts): each range has its own layers.
   */
  constructor(cacheDir: string, suite: string, arch: string, subids: IdRange) {
    this.root = join(cacheDir, 'layers', `${suite}-${arch}-${subidTag(subids)}`);
  }

  static key(parts: {
    sourcesHash: string;
    listsDir: string;
    packages: readonly string[];
  }): string {
    const material = JSON.stringify([
      parts.sourcesHash,
      parts.listsDir,
      [...parts.packages].sort(),
    ]);
    return createHash('sha256').update(material).digest('hex').slice(0, 24);
  }

  private dir(key: string): string {
    return join(this.root, key);
  }

  /** The layer's directory (its overlay layer), marked as in use; undefined when missing. */
  async get(key: string): Promise<string | undefined> {
    const dir = this.dir(key);
    try {
      if (!(await stat(join(dir, 'layer'))).isDirectory()) return undefined;
    } catch {
      return undefined;
    }
    // The mtime says when a build last started on it: pruning spares recently used layers.
    const now = new Date();
    await utimes(dir, now, now).catch(() => undefined);
    return join(dir, 'layer');
  }

  /**
   * Publishes `upper` (an unmounted overlay upper layer: base root + the packages) as layer
   * `key`, unless another build published it first. Moves it when on the same file system,
   * else copies it (whiteouts and overlay xattrs included).
   */
  async publish(key: string, upper: string): Promise<void> {
    await mkdir(this.root, { recursive: true });
    await withFileLock(join(this.root, `${key}.lock`), async () => {
      if (await this.get(key)) return;
      const tmp = join(this.root, `.tmp-${key}-${process.pid}-${randomBytes(4).toString('hex')}`);
      await mkdir(tmp);
      let moved = false;
      try {
        try {
          await rename(upper, join(tmp, 'layer'));
          moved = true;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
          const r = await run('cp', ['-a', '--', upper, join(tmp, 'layer')], {
            timeoutMs: 600_000,
          });
          if (r.code !== 0) throw new Error(`copying the layer failed: ${r.stderr.trim()}`);
        }
        await rename(tmp, this.dir(key));
      } catch (err) {
        // Give the caller its layer back: it can still build on it, unshared.
        if (moved) await rename(join(tmp, 'layer'), upper).catch(() => undefined);
        await removeTree(tmp);
        throw err;
      }
    });
  }

  /** Removes layers other than `keep` not used for `unusedMs`, and dead temp dirs. */
  async prune(keep: string, unusedMs: number): Promise<void> {
    const now = Date.now();
    for (const name of await readdir(this.root).catch(() => [] as string[])) {
      if (name === keep || name.endsWith('.lock')) continue;
      const st = await stat(join(this.root, name)).catch(() => undefined);
      if (st?.isDirectory() && now - st.mtimeMs > unusedMs) {
        await removeTree(join(this.root, name)).catch(() => undefined);
      }
    }
  }
}
