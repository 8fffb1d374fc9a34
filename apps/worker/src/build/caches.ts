/**
 * Download caches shared by the builds of one (suite, arch) on a host: apt package lists and
 * .debs, pip's and npm's caches. They persist across builds but never enter a runtime.
 *
 * A build never writes the shared directories: each cache is mounted into its sandbox as an
 * overlay (shared dir as the read-only lower layer, a private upper layer in the work dir). So
 * concurrent builds never wait for each other's apt locks (`apt-get` fails at once on a held
 * lock), and code run by a build (hooks, package install scripts) cannot poison what other
 * builds read. The child copies new entries to the shared dir (add-only, atomic rename) at points
 * where only trusted code has written them; see `promote*` and the pipeline.
 *
 * Builds are rootless (sandbox.ts): their root is the first id of a host range. What they must
 * be able to change in a cache's merged view — the directories apt and npm write into — is
 * owned by that id, so shared directories and files are created owned by it, and each range
 * has its own caches (`<suite>-<arch>-u<first>`): a cache written for another range, or by
 * builds of older workers that ran as real root, is never mixed in.
 */
import { randomBytes } from 'node:crypto';
import {
  chown,
  copyFile,
  link,
  lstat,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { run, type IdRange } from '@joblet/sandbox';
import { removeTree } from '@joblet/artifact';
import type { CacheAdmission } from './cache-verify.js';
import { mountOverlay } from './mounts.js';

export type CacheName = 'lists' | 'archives' | 'pip' | 'npm';

/** Where each cache appears inside the sandbox. */
export const CACHE_TARGETS: Readonly<Record<CacheName, string>> = {
  lists: '/var/lib/apt/lists',
  archives: '/var/cache/apt/archives',
  pip: '/root/.cache/pip',
  npm: '/root/.npm',
};

/** Shared cache directories of one (suite, arch). */
export class SharedCaches {
  readonly aptDir: string;
  readonly pipDir: string;
  readonly npmDir: string;

  constructor(
    cacheDir: string,
    suite: string,
    arch: string,
    private readonly subids: IdRange,
  ) {
    const name = `${suite}-${arch}-${subidTag(subids)}`;
    this.aptDir = join(cacheDir, 'apt', name);
    this.pipDir = join(cacheDir, 'pip', name);
    this.npmDir = join(cacheDir, 'npm', name);
  }

  get archivesDir(): string {
    return join(this.aptDir, 'archives');
  }
  private get listsRoot(): string {
    return join(this.aptDir, 'lists.d');
  }
  private get listsState(): string {
    return join(this.aptDir, 'lists.json');
  }

  async ensure(): Promise<void> {
    for (const d of [this.archivesDir, join(this.listsRoot, 'empty'), this.pipDir, this.npmDir]) {
      await mkdir(d, { recursive: true, mode: 0o755 });
      await chown(d, this.subids.first, this.subids.first);
    }
  }

  /** The published package lists, or undefined when none were published yet. */
  async currentLists(): Promise<ListsState | undefined> {
    try {
      const s = JSON.parse(await readFile(this.listsState, 'utf8')) as Partial<ListsState>;
      if (typeof s.dir !== 'string' || typeof s.sourcesHash !== 'string') return undefined;
      if (typeof s.updatedAt !== 'string') return undefined;
      await stat(join(this.listsRoot, s.dir));
      return s as ListsState;
    } catch {
      return undefined;
    }
  }

  /** Where published lists version `name` (from `publishLists`/`currentLists`) lies. */
  listsPath(name: string): string {
    return join(this.listsRoot, name);
  }

  /** Shared dir that is the lower layer of a cache's overlay. */
  async lowerDir(name: CacheName): Promise<string> {
    switch (name) {
      case 'lists': {
        const cur = await this.currentLists();
        const dir = join(this.listsRoot, cur?.dir ?? 'empty');
        // The mtime says when a build last started on it: pruning spares recently used lists.
        const now = new Date();
        await utimes(dir, now, now).catch(() => undefined);
        return dir;
      }
      case 'archives':
        return this.archivesDir;
      case 'pip':
        return this.pipDir;
      case 'npm':
        return this.npmDir;
    }
  }

  /**
   * Publishes package lists fresh from `apt-get update` (the merged view of a build's lists
   * overlay) as a new immutable version; builds that mounted an older one keep it. Versions
   * other than the current one that no build started on for `keepMs` are removed. Returns the
   * new version's name.
   */
  async publishLists(fromDir: string, sourcesHash: string, keepMs: number): Promise<string> {
    const name = `${Date.now()}-${randomBytes(4).toString('hex')}`;
    const tmp = join(this.listsRoot, `.tmp-${name}`);
    await mkdir(tmp, { recursive: true });
    try {
      for (const entry of await readdir(fromDir)) {
        if (entry === 'lock' || entry === 'partial') continue;
        const r = await run('cp', ['-a', '--', join(fromDir, entry), tmp], { timeoutMs: 120_000 });
        if (r.code !== 0) throw new Error(`cp failed: ${r.stderr.trim()}`);
      }
      await mkdir(join(tmp, 'partial'), { recursive: true });
      await chown(join(tmp, 'partial'), this.subids.first, this.subids.first);
      await rename(tmp, join(this.listsRoot, name));
    } catch (e) {
      await removeTree(tmp);
      throw e;
    }
    const state: ListsState = { dir: name, sourcesHash, updatedAt: new Date().toISOString() };
    const stateTmp = `${this.listsState}.${process.pid}.tmp`;
    await writeFile(stateTmp, JSON.stringify(state));
    await rename(stateTmp, this.listsState);
    await this.pruneLists(name, keepMs);
    return name;
  }

  private async pruneLists(current: string, keepMs: number): Promise<void> {
    const now = Date.now();
    for (const entry of await readdir(this.listsRoot).catch(() => [] as string[])) {
      if (entry === current || entry === 'empty') continue;
      const st = await stat(join(this.listsRoot, entry)).catch(() => undefined);
      if (st && now - st.mtimeMs > keepMs) await removeTree(join(this.listsRoot, entry));
    }
  }
}

/** Names the caches and layers of an id range: `u100000`. */
export function subidTag(subids: IdRange): string {
  return `u${subids.first}`;
}

/** `lists.json`: which lists version is current, for which sources, since when. */
export interface ListsState {
  dir: string;
  /** sha256 of the sources.list the lists were fetched with. */
  sourcesHash: string;
  updatedAt: string;
}

/** One cache overlay of a build. */
export interface CacheMount {
  name: CacheName;
  /** Mount point (bound into the sandbox at {@link CACHE_TARGETS}). */
  merged: string;
  /** Private layer: what this build added or changed. */
  upper: string;
}

/**
 * Mounts the overlay of cache `name` for a build under `cachesDir` (in its work dir); its upper
 * layer (the merged view's top directory) belongs to the sandbox's root.
 */
export async function mountCache(
  shared: SharedCaches,
  name: CacheName,
  cachesDir: string,
  subids: IdRange,
): Promise<CacheMount> {
  const base = join(cachesDir, name);
  const m = { name, merged: join(base, 'merged'), upper: join(base, 'upper') };
  const work = join(base, 'work');
  for (const d of [m.merged, m.upper, work]) await mkdir(d, { recursive: true });
  await chown(m.upper, subids.first, subids.first);
  await mountOverlay({
    lowers: [await shared.lowerDir(name)],
    upper: m.upper,
    work,
    target: m.merged,
  });
  return m;
}

/** Makes `rel` (and its missing parents) under `shared`, owned by `owner`. */
async function mkdirOwned(shared: string, rel: string, owner: number): Promise<void> {
  let dir = shared;
  for (const part of rel === '' ? [] : rel.split('/')) {
    dir = join(dir, part);
    try {
      await mkdir(dir, { mode: 0o755 });
      await chown(dir, owner, owner);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+~%=-]*$/;

/**
 * Copies regular files a build added (its overlay upper layer) into the shared dir, keeping the
 * directory structure: add-only (an existing file is never replaced, so readers never see a
 * change), each file copied under a temporary name, checked there by `admit` (cache-verify.ts:
 * what is checked is what is shared), and linked into place, owned by `owner` (the sandbox's
 * root, uid and gid) like the directories made for it. Whiteouts, links and odd names are
 * skipped. Returns the number of files added.
 */
export async function promoteNewFiles(
  upper: string,
  shared: string,
  admit: CacheAdmission,
  owner: number,
  rel = '',
): Promise<number> {
  let added = 0;
  for (const entry of await readdir(join(upper, rel)).catch(() => [] as string[])) {
    if (!SAFE_NAME.test(entry)) continue;
    const relPath = rel ? `${rel}/${entry}` : entry;
    const st = await lstat(join(upper, relPath));
    if (st.isDirectory()) {
      added += await promoteNewFiles(upper, shared, admit, owner, relPath);
    } else if (st.isFile()) {
      const dst = join(shared, relPath);
      if (
        await lstat(dst).then(
          () => true,
          () => false,
        )
      )
        continue;
      // The copy waits at the top of the shared dir (same filesystem, for link); its directory
      // is made only once it is admitted, so a refused file leaves nothing behind.
      const tmp = join(shared, `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
      try {
        await copyFile(join(upper, relPath), tmp);
        if (!(await admit(relPath, tmp))) continue;
        await chown(tmp, owner, owner);
        await mkdirOwned(shared, rel, owner);
        await link(tmp, dst); // EEXIST when another build added it meanwhile: keep theirs
        added += 1;
      } catch {
        // not added; the cache is an optimisation
      } finally {
        await rm(tmp, { force: true });
      }
    }
  }
  return added;
}
