/**
 * Where everything lives under RUNTIMES_DIR on a node (ARCHITECTURE.md, "Runtime layout on a
 * node"). Runtimes are exactly `<name>/<version>/{runtime.yml,isolated/}`; the agent's own
 * bookkeeping lives in dot-directories beside them, never inside a runtime tree (that would
 * change its tree hash):
 *
 *   .state/<name>@<version>.json       install record (tree hash, sha256) of what is in place
 *   .state/<name>@<version>.removing   removal deferred until the last lease goes
 *   .leases/<name>@<version>/<holder>.lease   a job (or any process) using the runtime
 *   .locks/<name>@<version>.lock       held while installing/removing (between agents too)
 *   .locks/<name>@<version>.gate       held briefly to take a lease or to swap/remove the tree
 *   <name>/.<version>.incoming-<pid>-<hex>   a verified tree waiting to be renamed into place
 *   <name>/.<version>.trash-<pid>-<hex>      a tree renamed away, being deleted
 */
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, readdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isSemver } from '@joblet/spec';
import { AgentError, AgentErrorCode } from '../errors.js';

export const STATE_DIR = '.state';
export const LEASES_DIR = '.leases';
export const LOCKS_DIR = '.locks';

/** Same grammar as runtime names in runtime.yaml. */
const RUNTIME_NAME = /^[a-z0-9][a-z0-9.-]{0,63}$/;

/** True when `name@version` is safe to turn into paths (no '/', no '..'). */
export function isRuntimeId(name: string, version: string): boolean {
  return (
    RUNTIME_NAME.test(name) &&
    !name.includes('..') &&
    isSemver(version) &&
    !version.includes('/') &&
    !version.includes('..')
  );
}

export function assertRuntimeId(name: string, version: string): void {
  if (!isRuntimeId(name, version)) {
    throw new AgentError(
      `invalid runtime ${JSON.stringify(name)}@${JSON.stringify(version)}`,
      AgentErrorCode.InvalidArgument,
    );
  }
}

/** `<name>@<version>`: the field of NodeRuntimeStatus hashes and the stem of state files. */
export function runtimeKey(name: string, version: string): string {
  return `${name}@${version}`;
}

export function splitRuntimeKey(key: string): { name: string; version: string } | undefined {
  const at = key.indexOf('@');
  if (at <= 0) return undefined;
  const id = { name: key.slice(0, at), version: key.slice(at + 1) };
  return isRuntimeId(id.name, id.version) ? id : undefined;
}

/** Temporary siblings of a version dir (same filesystem, so renames are atomic). */
export type TempKind = 'incoming' | 'trash';

/** `.<version>.<kind>-<pid>-<hex>` → its parts. */
export const TEMP_DIR = /^\.(.+)\.(incoming|trash)-(\d+)-[0-9a-f]+$/;

export class RuntimeLayout {
  constructor(readonly root: string) {}

  nameDir(name: string): string {
    return join(this.root, name);
  }
  versionDir(name: string, version: string): string {
    return join(this.root, name, version);
  }
  runtimeYml(name: string, version: string): string {
    return join(this.versionDir(name, version), 'runtime.yml');
  }
  recordFile(name: string, version: string): string {
    return join(this.root, STATE_DIR, `${runtimeKey(name, version)}.json`);
  }
  removingMarker(name: string, version: string): string {
    return join(this.root, STATE_DIR, `${runtimeKey(name, version)}.removing`);
  }
  leaseDir(name: string, version: string): string {
    return join(this.root, LEASES_DIR, runtimeKey(name, version));
  }
  lockFile(name: string, version: string): string {
    return join(this.root, LOCKS_DIR, `${runtimeKey(name, version)}.lock`);
  }
  gateFile(name: string, version: string): string {
    return join(this.root, LOCKS_DIR, `${runtimeKey(name, version)}.gate`);
  }
  tempDir(name: string, version: string, kind: TempKind): string {
    const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
    return join(this.nameDir(name), `.${version}.${kind}-${tag}`);
  }

  /**
   * Creates RUNTIMES_DIR and the bookkeeping dirs. RUNTIMES_DIR and name dirs are 0755: jobs run
   * as an unprivileged uid and must traverse them to reach their runtime.
   */
  async prepare(): Promise<void> {
    await mkdirMode(this.root, 0o755);
    for (const d of [STATE_DIR, LEASES_DIR, LOCKS_DIR]) await mkdirMode(join(this.root, d), 0o755);
  }

  async ensureNameDir(name: string): Promise<string> {
    const dir = this.nameDir(name);
    await mkdirMode(dir, 0o755);
    return dir;
  }

  /**
   * Removes `<name>/` when nothing is left in it (no version, no other install's staging): a
   * failed install or the removal of the last version leaves no empty name behind.
   */
  async removeNameDirIfEmpty(name: string): Promise<void> {
    await rmdir(this.nameDir(name)).catch(() => undefined);
  }

  /** Names of runtime name dirs (not the agent's dot-dirs). */
  async names(): Promise<string[]> {
    const entries = await readdir(this.root, { withFileTypes: true }).catch(() => []);
    return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
  }

  /** Every `<name>/<version>/` that has a runtime.yml: what this node has installed. */
  async listInstalled(): Promise<{ name: string; version: string }[]> {
    const out: { name: string; version: string }[] = [];
    for (const name of await this.names()) {
      const versions = await readdir(this.nameDir(name)).catch(() => []);
      for (const version of versions) {
        if (version.startsWith('.') || !isRuntimeId(name, version)) continue;
        if (await isFile(this.runtimeYml(name, version))) out.push({ name, version });
      }
    }
    return out;
  }

  async isInstalled(name: string, version: string): Promise<boolean> {
    return isFile(this.runtimeYml(name, version));
  }
}

async function mkdirMode(dir: string, mode: number): Promise<void> {
  const created = await mkdir(dir, { recursive: true, mode });
  // mkdir's mode is filtered by the umask; the one we create must be exactly `mode`.
  if (created !== undefined) await chmod(dir, mode);
}

export async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isFile();
  } catch {
    return false;
  }
}
