/**
 * Steps 2–5 (apt part): the build's apt sources, `apt-get update` unless this host's shared
 * lists for the same sources are fresh, and `apt-get install` of the catalog's and the spec's
 * packages. Every command is an argv array; package names come validated from the spec.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildFailure, outputTail } from './build-failure.js';
import type { SharedCaches } from './caches.js';
import { packageFailure } from './classify.js';
import type { BuildContext } from './context.js';
import { SANDBOX_CA_PATH, type BuildSandbox } from './sandbox.js';

/** Shared package lists younger than this are used without `apt-get update` (ms). */
export const LISTS_FRESH_MS = 60 * 60 * 1000;

/** Options of every apt-get run: root downloads (no `_apt` sandbox user), no pty, no prompts. */
export const APT_OPTIONS = [
  '-o',
  'APT::Sandbox::User=root',
  '-o',
  'Dpkg::Use-Pty=0',
  '-o',
  'Acquire::Retries=3',
  '-o',
  'APT::Keep-Downloaded-Packages=true',
  // No fsync per unpacked file: the tree is thrown away if the build dies, and packed after.
  '-o',
  'Dpkg::Options::=--force-unsafe-io',
  '-o',
  'Dpkg::Options::=--force-confdef',
  '-o',
  'Dpkg::Options::=--force-confold',
] as const;

const OFFICIAL_DEBIAN = /^https?:\/\/deb\.debian\.org\/debian$/;

/**
 * sources.list text for the build: the suite from the mirror, plus -updates and -security when
 * the mirror is Debian's own (a private mirror or proxy may not carry them).
 */
export function sourcesList(ctx: Pick<BuildContext, 'entry' | 'mirror'>): string {
  const { entry, mirror } = ctx;
  const components = (entry.components ?? ['main']).join(' ');
  const lines = [`deb ${mirror} ${entry.suite} ${components}`];
  if (entry.distro === 'debian' && OFFICIAL_DEBIAN.test(mirror)) {
    lines.push(`deb ${mirror} ${entry.suite}-updates ${components}`);
    lines.push(`deb http://deb.debian.org/debian-security ${entry.suite}-security ${components}`);
  }
  return `# written by the joblet runtime farm builder\n${lines.join('\n')}\n`;
}

/** Writes the sources into the build's root (its upper layer) and returns their hash. */
export async function writeAptSources(ctx: BuildContext, root: string): Promise<string> {
  const text = sourcesList(ctx);
  await writeFile(join(root, 'etc/apt/sources.list'), text);
  const dir = join(root, 'etc/apt/sources.list.d');
  await mkdir(dir, { recursive: true });
  for (const f of await readdir(dir)) await rm(join(dir, f), { recursive: true, force: true });
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Whether the shared lists can be used as they are: same sources, younger than an hour, and
 * this is the first attempt (a retry refreshes, in case stale lists caused the failure).
 */
export async function listsAreFresh(
  ctx: BuildContext,
  caches: SharedCaches,
  sourcesHash: string,
): Promise<boolean> {
  if (ctx.attempt > 1) return false;
  const cur = await caches.currentLists();
  if (!cur || cur.sourcesHash !== sourcesHash) return false;
  return Date.now() - Date.parse(cur.updatedAt) < LISTS_FRESH_MS;
}

/** {@link APT_OPTIONS}, plus the build CA bundle for https mirrors when there is one. */
export function aptOptions(ctx: Pick<BuildContext, 'config'>): string[] {
  return [
    ...APT_OPTIONS,
    ...(ctx.config.caBundle ? ['-o', `Acquire::https::CaInfo=${SANDBOX_CA_PATH}`] : []),
  ];
}

export async function aptUpdate(ctx: BuildContext, sandbox: BuildSandbox): Promise<void> {
  const r = await sandbox.run(['apt-get', ...aptOptions(ctx), 'update'], {
    timeoutMs: 10 * 60_000,
  });
  if (ctx.signal.aborted) return;
  // apt-get update exits 0 even when some index could not be fetched ("W: Failed to fetch");
  // an install would then fail in confusing ways, so that is a (retryable) failure here.
  const output = `${r.stdout}\n${r.stderr}`;
  if (r.code !== 0 || /^(E:|W: Failed to fetch|Err:)/m.test(output)) {
    throw new BuildFailure('PACKAGE_INSTALL_FAILED', `apt-get update from ${ctx.mirror} failed`, {
      details: outputTail(output),
      retryable: true,
    });
  }
}

/** The distro packages of a build: the catalog's, what pip/npm need, then the spec's. */
export function aptPackages(ctx: Pick<BuildContext, 'entry' | 'spec'>): string[] {
  const { entry, spec } = ctx;
  const pkgs = [...entry.packages];
  if ((spec.pip?.length ?? 0) > 0 && entry.language !== 'python') pkgs.push('python3-pip');
  if ((spec.npm?.length ?? 0) > 0 && entry.language !== 'node') pkgs.push('npm');
  pkgs.push(...(spec.apt ?? []));
  return [...new Set(pkgs)];
}

/** `apt-get install` of `pkgs` (default: every package of the build) in the sandbox's root. */
export async function aptInstall(
  ctx: BuildContext,
  sandbox: BuildSandbox,
  pkgs: string[] = aptPackages(ctx),
): Promise<void> {
  ctx.report.system(`apt-get install ${pkgs.join(' ')}`);
  const r = await sandbox.run(
    ['apt-get', ...aptOptions(ctx), 'install', '-y', '--no-install-recommends', '--', ...pkgs],
    { timeoutMs: 30 * 60_000 },
  );
  if (ctx.signal.aborted) return;
  if (r.code !== 0 || r.timedOut) {
    throw packageFailure('apt', `apt-get install in ${ctx.entry.suite}/${ctx.config.arch}`, r);
  }
}
