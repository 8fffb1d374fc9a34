/**
 * Builds the runtime.yml of one architecture's build: mounts for the directories that exist in
 * `isolated/`, an environment with that architecture's library paths (and JAVA_HOME), the spec's
 * own environment applied last, and the resolved package versions.
 */
import type { CatalogEntry } from './catalog.js';
import type { Arch } from './constants.js';
import { RuntimeYml, type RuntimeMount } from './runtime-yml.js';
import type { RuntimeSpec } from './runtime-spec.js';
import { SpecError, SpecErrorCodes } from './spec-error.js';
import { issuesToDiagnostics } from './zod-diagnostics.js';
import { SourceLocator } from './source-locator.js';

/** The builder's name in `build_info.built_with`. */
export const BUILT_WITH = 'joblet-runtime-farm';

/** Debian's multiarch triplet per architecture: the directory its libraries live in. */
export const MULTIARCH: Readonly<Record<Arch, string>> = {
  amd64: 'x86_64-linux-gnu',
  arm64: 'aarch64-linux-gnu',
};

/**
 * Directories of `isolated/` a job sees, in mount order; each is mounted (read-only, at the same
 * path) only if the build produced it. On merged-/usr Debian, bin, lib, lib64 and sbin are
 * relative symlinks into usr/, which bind mounts follow.
 */
export const MOUNT_DIRS = [
  'bin',
  'sbin',
  'lib',
  'lib64',
  'usr/bin',
  'usr/sbin',
  'usr/lib',
  'usr/lib64',
  'usr/libexec',
  'usr/local/bin',
  'usr/local/lib',
  'usr/share',
  'etc/ssl',
  'etc/ca-certificates',
  // Debian reaches java, node and others through /etc/alternatives symlinks.
  'etc/alternatives',
  // Upstream toolchains (python-build-standalone, Node.js, Temurin, Go, Rust) live in /opt/<lang>.
  'opt',
] as const;

export interface BuildRuntimeYmlInput {
  spec: RuntimeSpec;
  /** The spec as submitted, stored verbatim. */
  originalYaml: string;
  arch: Arch;
  catalogEntry: CatalogEntry;
  /** Installed versions: pip `name==ver`, npm `name@ver`, dpkg `name=ver`. */
  resolved: { pip: string[]; npm: string[]; system: string[] };
  /** Directories that exist under isolated/, e.g. `usr/bin`, `lib64`. */
  presentDirs: string[];
  builtAt: Date;
  builderVersion: string;
  buildKey?: string;
}

function normalizeDir(d: string): string {
  return d
    .replace(/^\.?\/+/, '')
    .replace(/^isolated\/+/, '')
    .replace(/\/+$/, '');
}

function mounts(input: BuildRuntimeYmlInput): RuntimeMount[] {
  const present = new Set(input.presentDirs.map(normalizeDir));
  const dirs: string[] = [...MOUNT_DIRS];
  // The JDK keeps its configuration in /etc/java-<ver>-openjdk (symlinked from the JDK's conf/).
  if (input.spec.base.language === 'java') dirs.push(`etc/java-${input.spec.base.version}-openjdk`);
  return dirs
    .filter((d) => present.has(d))
    .map((d) => ({ source: `isolated/${d}`, target: `/${d}`, readonly: true as const }));
}

/** JAVA_HOME of Debian's OpenJDK package for a version and architecture. */
export function javaHome(version: string, arch: Arch): string {
  return `/usr/lib/jvm/java-${version}-openjdk-${arch}`;
}

function environment(input: BuildRuntimeYmlInput): Record<string, string> {
  const { arch, spec, catalogEntry } = input;
  const triplet = MULTIARCH[arch];
  const env: Record<string, string> = {
    LANG: 'C.UTF-8',
    PATH: '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin',
    LD_LIBRARY_PATH: `/usr/local/lib:/lib/${triplet}:/usr/lib/${triplet}:/lib:/usr/lib`,
    ...catalogEntry.env,
  };
  const toolchainPath = catalogEntry.toolchain?.path ?? [];
  if (toolchainPath.length > 0) env.PATH = `${toolchainPath.join(':')}:${env.PATH}`;
  if (spec.base.language === 'java' && !catalogEntry.toolchain) {
    const home = javaHome(spec.base.version, arch);
    env.JAVA_HOME = home;
    env.PATH = `${home}/bin:${env.PATH}`;
  }
  // The spec has the last word, as the guide's environment section promises.
  Object.assign(env, spec.environment);
  return Object.fromEntries(Object.entries(env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * The runtime.yml for one architecture's build. Its `requirements.architectures` is `[arch]`:
 * each architecture has its own artifact and runtime.yml.
 * @throws SpecError `INVALID_BUILD_INPUT` when the result would not pass {@link RuntimeYml}
 *   (e.g. an invalid date or build key).
 */
export function buildRuntimeYml(input: BuildRuntimeYmlInput): RuntimeYml {
  const { spec, arch, catalogEntry } = input;
  const candidate: RuntimeYml = {
    name: spec.name,
    language: spec.base.language,
    language_version: spec.base.version,
    version: spec.version,
    ...(spec.description !== undefined && { description: spec.description }),
    mounts: mounts(input),
    environment: environment(input),
    packages: [...input.resolved.pip, ...input.resolved.npm],
    system_packages: [...input.resolved.system],
    libraries: [...(spec.libraries ?? [])],
    requirements: {
      architectures: [arch],
      gpu: spec.requirements?.gpu ?? false,
      ...(spec.requirements?.cuda_version !== undefined && {
        cuda_version: spec.requirements.cuda_version,
      }),
      ...(spec.requirements?.min_memory !== undefined && {
        min_memory: spec.requirements.min_memory,
      }),
    },
    build_info: {
      built_at: Number.isNaN(input.builtAt.getTime())
        ? 'invalid date'
        : input.builtAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      built_with: BUILT_WITH,
      builder_version: input.builderVersion,
      platform: `${catalogEntry.distro}-${arch}`,
      arch,
      suite: catalogEntry.suite,
      ...(input.buildKey !== undefined && { build_key: input.buildKey }),
    },
    original_yaml: input.originalYaml,
  };
  const checked = RuntimeYml.safeParse(candidate);
  if (!checked.success) {
    const diagnostics = issuesToDiagnostics(checked.error.issues, {
      schema: RuntimeYml,
      value: candidate,
      locator: new SourceLocator('runtime.yml'),
      reported: new Set(),
    });
    throw new SpecError(
      SpecErrorCodes.INVALID_BUILD_INPUT,
      `cannot build runtime.yml: ${diagnostics.map((d) => `${d.path}: ${d.message}`).join('; ')}`,
    );
  }
  return checked.data;
}
