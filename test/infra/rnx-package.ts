/**
 * `rnx` as a CI author gets it: the CLI's package made by `npm pack` (from the built
 * `apps/cli/dist`, so `npm run build` first) and installed with `npm install -g --prefix` into a
 * temp dir, offline — the package bundles everything it runs, so it has nothing to fetch. The
 * installed `rnx` is `<prefix>/bin/rnx`, with no workspace anywhere near it.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir, type TempDir } from '@joblet/testkit';
import { REPO } from './repo.js';

const exec = promisify(execFile);

export interface InstalledRnx {
  /** The tarball `npm pack` made. */
  tarball: string;
  /** What `npm pack --json` says it holds. */
  files: string[];
  /** The prefix it is installed under: `bin/rnx`, `lib/node_modules/@joblet/cli`. */
  prefix: string;
  rnx: string;
  tmp: TempDir;
}

/** npm's own chatter off, its cache in the temp dir (not the user's), no registry needed. */
export function npmEnv(tmp: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    npm_config_cache: join(tmp, 'npm-cache'),
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
  };
}

/** `npm pack` of apps/cli into `dir`: the tarball and the files it holds. */
export async function packRnx(dir: string): Promise<{ tarball: string; files: string[] }> {
  const packDir = join(dir, 'pack');
  await mkdir(packDir, { recursive: true });
  const { stdout } = await exec('npm', ['pack', '--json', '--pack-destination', packDir], {
    cwd: join(REPO, 'apps/cli'),
    env: npmEnv(dir),
    maxBuffer: 16 * 1024 * 1024,
  });
  const packed = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  const [tarball] = await readdir(packDir);
  if (!tarball || packed.length !== 1) throw new Error(`npm pack made ${stdout}`);
  return { tarball: join(packDir, tarball), files: packed[0]!.files.map((f) => f.path) };
}

export async function packAndInstallRnx(): Promise<InstalledRnx> {
  const tmp = await makeTempDir('rnx-package-');
  const { tarball, files } = await packRnx(tmp.path);
  const prefix = join(tmp.path, 'prefix');
  // Installed from outside the repository, so no workspace can be found from the install dir.
  await exec('npm', ['install', '--global', '--offline', '--prefix', prefix, tarball], {
    cwd: tmp.path,
    env: npmEnv(tmp.path),
  });
  return { tarball, files, prefix, rnx: join(prefix, 'bin', 'rnx'), tmp };
}
