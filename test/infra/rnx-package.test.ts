/**
 * The installable `rnx` (issue 17): `npm pack` of apps/cli gives a tarball that
 * `npm install -g --prefix` installs, offline and with no workspace, into a working `rnx` — the
 * workspace libs and third-party packages are bundled into its dist, so it depends on nothing at
 * install time. Needs `npm run build` (the pack takes the built dist).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, type TempDir } from '@joblet/testkit';
import { REPO } from './repo.js';
import { packAndInstallRnx, type InstalledRnx } from './rnx-package.js';

const exec = promisify(execFile);
let pkg: InstalledRnx;
let home: TempDir;

/** The installed `rnx`, run from outside the repository with a bare environment. */
async function rnx(args: string[]) {
  try {
    const { stdout, stderr } = await exec(pkg.rnx, args, {
      cwd: home.path,
      env: { PATH: process.env.PATH, HOME: home.path, NO_COLOR: '1' },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  home = await makeTempDir('rnx-package-home-');
  pkg = await packAndInstallRnx();
}, 180_000);
afterAll(async () => {
  await pkg?.tmp.cleanup();
  await home?.cleanup();
});

describe('the rnx package (npm pack + npm install -g)', () => {
  it('holds the shim and the bundle only, and declares no dependencies and a Node engine', () => {
    expect(pkg.files).toContain('bin/rnx.js');
    expect(pkg.files).toContain('dist/index.js');
    const extra = pkg.files.filter(
      (f) => !/^(bin\/rnx\.js|package\.json|README\.md|dist\/.*)$/.test(f),
    );
    expect(extra).toEqual([]);
    expect(pkg.files.some((f) => /\.ts$/.test(f))).toBe(false);
    const installed = JSON.parse(
      readFileSync(join(pkg.prefix, 'lib/node_modules/@joblet/cli/package.json'), 'utf8'),
    ) as { dependencies?: object; engines?: { node?: string }; bin?: Record<string, string> };
    expect(installed.dependencies ?? {}).toEqual({});
    expect(installed.engines?.node).toMatch(/^>=2\d/);
    expect(installed.bin).toEqual({ rnx: 'bin/rnx.js' });
  });

  it('installs an rnx that prints its version, the one in package.json', async () => {
    const version = (
      JSON.parse(readFileSync(join(REPO, 'apps/cli/package.json'), 'utf8')) as { version: string }
    ).version;
    const r = await rnx(['--version']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(version);
  });

  it('validates an example runtime with no farm and no workspace', async () => {
    const r = await rnx(['runtime', 'validate', join(REPO, 'examples/python-3.11')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('runtime.yaml is valid');
    const bad = await rnx(['runtime', 'validate', '--format', 'github', join(REPO, 'README.md')]);
    expect(bad.code).not.toBe(0);
  });

  it('says farm up needs the repository (the package holds the CLI only) and starts nothing', async () => {
    await chmod(home.path, 0o755);
    const r = await rnx(['farm', 'up', '--dir', join(home.path, 'farm')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "rnx farm up runs the farm's API, worker and agent from its repository",
    );
    expect(r.stderr).toContain('this rnx is the installed package');
    expect(existsSync(join(home.path, 'farm'))).toBe(false);
  });

  it('loads every command module from the bundle (help of every group)', async () => {
    for (const group of ['runtime', 'job', 'build', 'node', 'token', 'farm', 'completion']) {
      const r = await rnx([group, '--help']);
      expect(r.code, `${group}: ${r.stderr}`).toBe(0);
    }
  });
});
