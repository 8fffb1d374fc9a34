/**
 * Step 9: turn the installed root into a runtime: prune what jobs never need, check the spec's
 * `libraries` patterns, read the resolved package versions, and build runtime.yml.
 */
import { lstat, readdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { BUILDER_VERSION } from '@joblet/queue';
import { MOUNT_DIRS, MULTIARCH, buildRuntimeYml, type RuntimeYml } from '@joblet/spec';
import { BuildFailure, outputTail } from './build-failure.js';
import type { BuildContext } from './context.js';
import type { BuildSandbox } from './sandbox.js';

/**
 * Pruned inside the sandbox: docs (except copyright files), man pages, logs, caches, temp files.
 * A fixed script: no spec data is ever spliced into it.
 */
export const PRUNE_SCRIPT = [
  'find /usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete 2>/dev/null || true',
  'find /usr/share/doc -mindepth 1 -type d -empty -delete 2>/dev/null || true',
  'rm -rf /usr/share/man/* /usr/share/info/* /usr/share/lintian/* /var/log/* /var/cache/debconf/*-old',
  'rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb',
  'rm -rf /root/.cache /root/.npm /tmp/* /var/tmp/*',
].join('\n');

export async function prune(ctx: BuildContext, sandbox: BuildSandbox): Promise<void> {
  const r = await sandbox.run(['/bin/sh', '-ec', PRUNE_SCRIPT], { timeoutMs: 10 * 60_000 });
  if (ctx.signal.aborted) return;
  if (r.code !== 0) {
    throw new BuildFailure('INTERNAL', 'pruning the runtime failed', {
      details: outputTail(`${r.stdout}\n${r.stderr}`),
      retryable: true,
    });
  }
}

/** `*`, `?` and `[...]` of a validated `libraries` pattern as a RegExp on file names. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      const body = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
      re += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
      i = end;
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Directories whose files (and sub-directories, 3 levels deep) `libraries` patterns search. */
export function libraryDirs(arch: keyof typeof MULTIARCH): string[] {
  const t = MULTIARCH[arch];
  return [`usr/lib/${t}`, `lib/${t}`, 'usr/local/lib', 'usr/lib', 'lib', 'usr/lib64', 'lib64'];
}

async function collectNames(dir: string, depth: number, seen: Set<string>, out: Set<string>) {
  let real: string;
  try {
    real = await realpath(dir);
  } catch {
    return;
  }
  if (seen.has(real)) return;
  seen.add(real);
  const entries = await readdir(real, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    out.add(e.name);
    if (e.isDirectory() && depth > 0) await collectNames(join(real, e.name), depth - 1, seen, out);
  }
}

/**
 * Every `libraries` pattern must match a file in the runtime's library directories; a pattern
 * that matches nothing is almost always a missing apt package, so the build fails saying so.
 * `root` is the build's root as seen from the host; symlinks are resolved inside it only.
 */
export async function checkLibraries(ctx: BuildContext, root: string): Promise<void> {
  const patterns = ctx.spec.libraries ?? [];
  if (patterns.length === 0) return;
  const names = new Set<string>();
  const seen = new Set<string>();
  for (const d of libraryDirs(ctx.config.arch)) {
    // Resolve merged-/usr symlinks (lib → usr/lib) by hand: realpath would follow absolute
    // links out of the root onto the host.
    const st = await lstat(join(root, d)).catch(() => undefined);
    if (!st || st.isSymbolicLink()) continue;
    await collectNames(join(root, d), 3, seen, names);
  }
  const missing = patterns.filter((p) => {
    const re = globToRegExp(p);
    return ![...names].some((n) => re.test(n));
  });
  if (missing.length > 0) {
    const dirs = libraryDirs(ctx.config.arch)
      .map((d) => `/${d}`)
      .join(', ');
    throw new BuildFailure(
      'INVALID_SPEC',
      `libraries: ${missing.map((p) => `"${p}"`).join(', ')} matched no file in ${dirs}; ` +
        `add the Debian package that provides ${missing.length > 1 ? 'them' : 'it'} to "apt" ` +
        `(e.g. "${missing[0]!.replace(/[*?[].*$/, '')}…" or its -dev package)`,
    );
  }
}

/** Installed versions: dpkg `name=ver`, pip `name==ver` (pip's own prefix only), npm `name@ver`. */
export async function resolvedPackages(
  ctx: BuildContext,
  sandbox: BuildSandbox,
): Promise<{ system: string[]; pip: string[]; npm: string[] }> {
  const quiet = { stream: false, timeoutMs: 120_000 } as const;
  const dpkg = await sandbox.run(
    ['dpkg-query', '-W', '-f', '${binary:Package}=${Version}\\n'],
    quiet,
  );
  if (dpkg.code !== 0) {
    throw new BuildFailure('INTERNAL', 'dpkg-query failed', {
      details: outputTail(dpkg.stderr),
      retryable: true,
    });
  }
  const lines = (s: string) =>
    s
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .sort();
  let pip: string[] = [];
  if ((ctx.spec.pip?.length ?? 0) > 0 || ctx.spec.base.language === 'python') {
    // Only what `pip install` put under /usr/local, not Debian's own python3-* packages.
    // purelib: Debian's /usr/local/lib/python3.X/dist-packages, a toolchain's site-packages.
    const script =
      'import subprocess, sys, sysconfig\n' +
      "p = sysconfig.get_path('purelib')\n" +
      "sys.exit(subprocess.call([sys.executable, '-m', 'pip', 'list', '--format=freeze', " +
      "'--disable-pip-version-check', '--path', p]))\n";
    const r = await sandbox.run(['python3', '-c', script], quiet);
    if (r.code === 0) pip = lines(r.stdout).filter((l) => l.includes('=='));
    else ctx.report.system(`cannot list pip packages: ${outputTail(r.stderr, 3)}`);
  }
  let npm: string[] = [];
  if ((ctx.spec.npm?.length ?? 0) > 0) {
    const r = await sandbox.run(['npm', 'ls', '-g', '--depth=0', '--json'], quiet);
    try {
      const deps = (JSON.parse(r.stdout) as { dependencies?: Record<string, { version?: string }> })
        .dependencies;
      npm = Object.entries(deps ?? {})
        .filter(([, d]) => typeof d.version === 'string')
        .map(([name, d]) => `${name}@${d.version}`)
        .sort();
    } catch {
      ctx.report.system(`cannot list npm packages: ${outputTail(r.stderr, 3)}`);
    }
  }
  return { system: lines(dpkg.stdout), pip, npm };
}

/** Which of runtime.yml's mountable directories the runtime has (symlinks count). */
export async function presentDirs(ctx: BuildContext, root: string): Promise<string[]> {
  // /opt only carries an upstream toolchain; Debian's empty /opt is not worth a mount.
  const candidates: string[] = MOUNT_DIRS.filter((d) => d !== 'opt' || ctx.entry.toolchain);
  if (ctx.spec.base.language === 'java')
    candidates.push(`etc/java-${ctx.spec.base.version}-openjdk`);
  const out: string[] = [];
  for (const d of candidates) {
    const st = await lstat(join(root, d)).catch(() => undefined);
    if (st && (st.isDirectory() || st.isSymbolicLink())) out.push(d);
  }
  return out;
}

export function makeRuntimeYml(
  ctx: BuildContext,
  resolved: { system: string[]; pip: string[]; npm: string[] },
  dirs: string[],
  builtAt: Date,
): RuntimeYml {
  return buildRuntimeYml({
    spec: ctx.spec,
    originalYaml: ctx.job.specText,
    arch: ctx.config.arch,
    catalogEntry: ctx.entry,
    resolved,
    presentDirs: dirs,
    builtAt,
    builderVersion: BUILDER_VERSION,
    buildKey: ctx.job.buildKey,
  });
}
