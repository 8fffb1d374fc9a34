/**
 * Upstream relocatable toolchains as a catalog entry's source: archives named by URL per
 * architecture, pinned by sha256, unpacked into the runtime at a fixed prefix (e.g. /opt/python)
 * on top of a minimal Debian base root, with their commands linked into /usr/local/bin.
 *
 * Each project has an upstream URL prefix; a mirror setting (`BUILD_TOOLCHAIN_MIRRORS`, like
 * uv's `UV_PYTHON_INSTALL_MIRROR`) replaces that prefix, so a farm without internet serves the
 * same files from its own server. The sha256 pin is checked whatever the URL.
 */
import { z } from 'zod';
import type { Arch } from './constants.js';

/** Who publishes a toolchain, and the URL prefix a mirror replaces. */
export const TOOLCHAIN_PROJECTS = {
  'python-build-standalone':
    'https://github.com/astral-sh/python-build-standalone/releases/download',
  nodejs: 'https://nodejs.org/dist',
  'npm-registry': 'https://registry.npmjs.org',
  temurin: 'https://github.com/adoptium',
  go: 'https://go.dev/dl',
  rust: 'https://static.rust-lang.org/dist',
} as const;
export type ToolchainProject = keyof typeof TOOLCHAIN_PROJECTS;
export const TOOLCHAIN_PROJECT_NAMES = Object.keys(TOOLCHAIN_PROJECTS) as [
  ToolchainProject,
  ...ToolchainProject[],
];

const httpUrl = z
  .string()
  .max(2048)
  .regex(/^https?:\/\/[^\s]+$/, 'must be an http:// or https:// URL without spaces');

/** One file: where it is and what its bytes hash to. */
export const ToolchainFile = z.strictObject({
  url: httpUrl,
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits (a sha256)'),
});
export type ToolchainFile = z.infer<typeof ToolchainFile>;

/** Absolute paths under /opt (the toolchain) or /tmp (an installer's staging, pruned later). */
const runtimePath = z
  .string()
  .max(256)
  .regex(
    /^\/(?:opt|tmp)(?:\/[A-Za-z0-9_+][A-Za-z0-9._+-]*)+$/,
    'must be an absolute path under /opt or /tmp (letters, digits, "._+-")',
  )
  .refine((p) => !p.split('/').includes('..'), 'must not contain ".."');

/** An absolute path in the runtime a command links to. */
const commandTarget = z
  .string()
  .max(256)
  .regex(/^(?:\/[A-Za-z0-9_+][A-Za-z0-9._+-]*)+$/, 'must be an absolute path')
  .refine((p) => !p.split('/').includes('..'), 'must not contain ".."');

/** One archive, unpacked at `into` with `strip` leading path components dropped. */
export const ToolchainArchive = z
  .strictObject({
    into: runtimePath,
    strip: z.number().int().min(0).max(4).default(1),
    amd64: ToolchainFile.optional(),
    arm64: ToolchainFile.optional(),
    /** The same file for every architecture (e.g. npm, which is JavaScript). */
    any: ToolchainFile.optional(),
  })
  .refine((a) => a.amd64 || a.arm64 || a.any, 'needs a file: amd64, arm64 or any');
export type ToolchainArchive = z.infer<typeof ToolchainArchive>;

/** An upstream toolchain (see the module comment). */
export const Toolchain = z.strictObject({
  project: z.enum(TOOLCHAIN_PROJECT_NAMES),
  archives: z.array(ToolchainArchive).min(1).max(8),
  /**
   * Run after unpacking, as root in the build sandbox (argv, no shell), e.g. Rust's
   * `install.sh --prefix=/opt/rust`.
   */
  install: z.array(z.string().min(1).max(512)).min(1).max(16).optional(),
  /** Directories put first on PATH of jobs (e.g. /opt/node/bin for `npm install -g` tools). */
  path: z.array(commandTarget).max(8).optional(),
  /** Where the pins come from (release page, checksum file, metadata file and its commit). */
  note: z.string().max(1000).optional(),
});
export type Toolchain = z.infer<typeof Toolchain>;

/** The file of `archive` for `arch`, if it has one. */
export function toolchainFileFor(archive: ToolchainArchive, arch: Arch): ToolchainFile | undefined {
  return archive[arch] ?? archive.any;
}

/** The architectures every archive of `toolchain` has a file for. */
export function toolchainArches(toolchain: Toolchain): Arch[] {
  return (['amd64', 'arm64'] as const).filter((a) =>
    toolchain.archives.every((x) => toolchainFileFor(x, a) !== undefined),
  );
}

/**
 * The URL to download `url` of `project` from: with a mirror for the project, the upstream
 * prefix is replaced by the mirror (URLs outside the prefix are left as they are).
 */
export function mirroredUrl(
  url: string,
  project: ToolchainProject,
  mirrors: Partial<Record<ToolchainProject, string>> = {},
): string {
  const mirror = mirrors[project];
  const upstream = TOOLCHAIN_PROJECTS[project];
  if (!mirror || !url.startsWith(`${upstream}/`)) return url;
  return `${mirror.replace(/\/+$/, '')}${url.slice(upstream.length)}`;
}

/**
 * Parses `BUILD_TOOLCHAIN_MIRRORS`: comma-separated `project=URL`, e.g.
 * `python-build-standalone=http://mirror/pbs,go=http://mirror/go`.
 * @returns the mirrors, or a message naming what is wrong.
 */
export function parseToolchainMirrors(
  value: string,
): { ok: true; mirrors: Partial<Record<ToolchainProject, string>> } | { ok: false; error: string } {
  const mirrors: Partial<Record<ToolchainProject, string>> = {};
  for (const part of value
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    const project = part.slice(0, eq);
    const url = part.slice(eq + 1);
    if (eq < 1 || !(project in TOOLCHAIN_PROJECTS)) {
      return {
        ok: false,
        error: `"${part}" is not project=URL with a project of ${TOOLCHAIN_PROJECT_NAMES.join(', ')}`,
      };
    }
    if (!httpUrl.safeParse(url).success) {
      return { ok: false, error: `"${url}" (for ${project}) is not an http(s) URL` };
    }
    mirrors[project as ToolchainProject] = url.replace(/\/+$/, '');
  }
  return { ok: true, mirrors };
}
