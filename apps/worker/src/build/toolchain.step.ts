/**
 * Step 4 (second half): an upstream toolchain, when the catalog entry has one, unpacked into the
 * build's root — every archive verified against its sha256 pin on the worker first (see
 * toolchain-fetch.ts), then bound read-only into the sandbox and unpacked there by the root's own
 * `tar`, so a hostile archive can write nowhere but the runtime — and its installer run; then the
 * names users type (`python`, `pip`, `node`, `npm`…) linked into /usr/local/bin.
 */
import { basename } from 'node:path';
import { toolchainFileFor } from '@joblet/spec';
import { BuildFailure, outputTail } from './build-failure.js';
import type { BuildContext } from './context.js';
import type { BuildSandbox, SandboxBind } from './sandbox.js';
import { fetchToolchainFile } from './toolchain-fetch.js';

/**
 * Unpacks archive after archive (`into file strip` triples), then execs the installer (the
 * remaining arguments), all in one run: /tmp is a fresh tmpfs per sandboxed command. A fixed
 * script; paths and argv come validated from the catalog.
 */
export const UNPACK_SCRIPT = [
  'n=$1; shift',
  'while [ "$n" -gt 0 ]; do',
  '  mkdir -p -- "$1"',
  '  tar -xf "$2" --no-same-owner --no-same-permissions --strip-components="$3" -C "$1"',
  '  shift 3; n=$((n - 1))',
  'done',
  'if [ $# -gt 0 ]; then exec "$@"; fi',
].join('\n');

export async function installToolchain(ctx: BuildContext, sandbox: BuildSandbox): Promise<void> {
  const { entry, config, report } = ctx;
  const tc = entry.toolchain;
  if (!tc) return;
  const what = `${entry.language} ${entry.version}`;
  const binds: SandboxBind[] = [];
  const triples: string[] = [];
  for (const [i, archive] of tc.archives.entries()) {
    const file = toolchainFileFor(archive, config.arch);
    if (!file) {
      throw new BuildFailure(
        'TOOLCHAIN_FAILED',
        `the catalog's ${what} toolchain (${tc.project}) has no ${config.arch} archive`,
      );
    }
    const path = await fetchToolchainFile({
      cacheDir: config.cacheDir,
      file,
      project: tc.project,
      mirrors: config.toolchainMirrors,
      caBundle: config.caBundle,
      signal: ctx.signal,
      report: (line) => report.system(line),
    });
    ctx.signal.throwIfAborted();
    const inside = `/tmp/joblet-toolchain-${i}`;
    binds.push({ source: path, target: inside, readonly: true });
    triples.push(archive.into, inside, String(archive.strip));
    report.system(
      `toolchain ${tc.project}: ${basename(new URL(file.url).pathname)} ` +
        `(sha256 ${file.sha256} verified) → ${archive.into}`,
    );
  }
  const argv = ['/bin/sh', '-ec', UNPACK_SCRIPT, 'unpack', String(tc.archives.length)];
  const r = await sandbox.run([...argv, ...triples, ...(tc.install ?? [])], {
    binds,
    timeoutMs: 20 * 60_000,
  });
  if (ctx.signal.aborted) return;
  if (r.code !== 0 || r.timedOut) {
    throw new BuildFailure(
      'TOOLCHAIN_FAILED',
      `installing the ${what} toolchain (${tc.project}) failed` +
        (r.timedOut ? ' (timed out)' : ` (exit ${r.code})`),
      { details: outputTail(`${r.stdout}\n${r.stderr}`) },
    );
  }
}

/**
 * Links each `commands` name to its target (a command looked up on PATH, or an absolute path
 * that must be executable). A fixed script; names and targets come validated from the catalog.
 */
export const LINK_SCRIPT = [
  'mkdir -p /usr/local/bin',
  'while [ $# -gt 0 ]; do',
  '  case "$2" in',
  '    /*) t=$2; [ -x "$t" ] || { echo "$1: $t is not an executable file" >&2; exit 3; } ;;',
  '    *) t=$(command -v "$2") || { echo "$1: $2 is not a command of this runtime" >&2; exit 3; } ;;',
  '  esac',
  '  if [ "$t" != "/usr/local/bin/$1" ]; then ln -sfn -- "$t" "/usr/local/bin/$1"; fi',
  '  shift 2',
  'done',
].join('\n');

/** The catalog entry's `commands` (e.g. python → python3), linked in /usr/local/bin. */
export async function linkCommands(ctx: BuildContext, sandbox: BuildSandbox): Promise<void> {
  const pairs = Object.entries(ctx.entry.commands ?? {});
  if (pairs.length === 0) return;
  ctx.report.system(`commands: ${pairs.map(([n, t]) => `${n} → ${t}`).join(', ')}`);
  const r = await sandbox.run(['/bin/sh', '-ec', LINK_SCRIPT, 'link', ...pairs.flat()], {
    timeoutMs: 60_000,
  });
  if (ctx.signal.aborted) return;
  if (r.code !== 0) {
    throw new BuildFailure(
      'TOOLCHAIN_FAILED',
      `the ${ctx.entry.language} ${ctx.entry.version} runtime lacks a command its catalog entry names`,
      { details: outputTail(`${r.stdout}\n${r.stderr}`) },
    );
  }
}
