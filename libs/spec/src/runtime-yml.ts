/**
 * The generated `runtime.yml` that sits next to `isolated/` on every node: what the agent mounts
 * and exports for a job, what was installed, and how it was built. Agents read it from downloaded
 * artifacts, so paths are checked here: sources stay inside `isolated/`, targets are absolute,
 * normalized and never one of the directories the sandbox provides itself.
 */
import { Document } from 'yaml';
import { z } from 'zod';
import { ARCHITECTURES, LANGUAGES, LIMITS } from './constants.js';
import { type Diagnostic } from './diagnostic.js';
import { checkEnvName, checkRuntimeName, checkRuntimeVersion } from './checks/fields.js';
import type { Check } from './checks/check.js';
import { loadYaml } from './yaml-load.js';
import { issuesToDiagnostics } from './zod-diagnostics.js';

const refined = (check: Check, max = 4096) =>
  z
    .string()
    .max(max)
    .superRefine((v, ctx) => {
      const message = check(v);
      if (message !== undefined) ctx.addIssue({ code: 'custom', message });
    });

const SEGMENT = /^[A-Za-z0-9_+-][A-Za-z0-9._+-]*$/;
/** Directories the job sandbox creates itself; a runtime never mounts over them. */
const SANDBOX_DIRS = ['/proc', '/sys', '/dev', '/tmp', '/work', '/run'];

function segmentsOk(segments: string[]): boolean {
  return segments.every((s) => SEGMENT.test(s) && s !== '.' && s !== '..');
}

const mountSource: Check = (s) =>
  s.startsWith('isolated/') && segmentsOk(s.split('/').slice(1))
    ? undefined
    : `${JSON.stringify(s)} must be a normalized path inside isolated/`;

const mountTarget: Check = (s) => {
  if (!s.startsWith('/') || !segmentsOk(s.slice(1).split('/'))) {
    return `${JSON.stringify(s)} must be a normalized absolute path other than /`;
  }
  const reserved = SANDBOX_DIRS.find((d) => s === d || s.startsWith(`${d}/`));
  return reserved
    ? `${JSON.stringify(s)} is inside ${reserved}, which the sandbox provides`
    : undefined;
};

export const RuntimeMount = z.strictObject({
  source: refined(mountSource, 512),
  target: refined(mountTarget, 512),
  /** Runtimes are always mounted read-only. */
  readonly: z.literal(true),
});
export type RuntimeMount = z.infer<typeof RuntimeMount>;

export const RuntimeYmlRequirements = z.object({
  /** The one architecture this build is for. */
  architectures: z.array(z.enum(ARCHITECTURES)).min(1),
  gpu: z.boolean(),
  cuda_version: z.string().max(32).optional(),
  min_memory: z.string().max(32).optional(),
});
export type RuntimeYmlRequirements = z.infer<typeof RuntimeYmlRequirements>;

export const BuildInfo = z.object({
  /** ISO 8601 UTC, seconds precision. */
  built_at: z.iso.datetime(),
  built_with: z.string().min(1).max(64),
  builder_version: z.string().min(1).max(64),
  /** `<distro>-<arch>`, e.g. debian-amd64, in Joblet's platform spelling. */
  platform: z.string().min(1).max(64),
  arch: z.enum(ARCHITECTURES),
  /** The base suite, e.g. bookworm. */
  suite: z.string().max(32).optional(),
  /** sha256 (hex) of spec, arch, catalog entry and builder version. */
  build_key: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
});
export type BuildInfo = z.infer<typeof BuildInfo>;

/**
 * runtime.yml. Unknown keys are ignored (not rejected) so that agents keep reading files written
 * by newer builders.
 */
export const RuntimeYml = z.object({
  name: refined(checkRuntimeName, LIMITS.nameChars),
  language: z.enum(LANGUAGES),
  language_version: z.string().min(1).max(32),
  version: refined(checkRuntimeVersion, LIMITS.versionChars),
  description: z.string().max(LIMITS.descriptionChars).optional(),
  mounts: z.array(RuntimeMount).max(64),
  environment: z.record(
    refined(checkEnvName, LIMITS.envNameChars),
    z.string().max(LIMITS.envValueChars),
  ),
  /** Resolved pip (`numpy==1.26.2`) and npm (`left-pad@1.3.0`) packages. */
  packages: z.array(z.string().min(1).max(512)),
  /** Resolved distro packages as dpkg reports them (`libopenblas0=0.3.21+ds-4`). */
  system_packages: z.array(z.string().min(1).max(512)),
  libraries: z.array(z.string().max(LIMITS.libraryChars)),
  requirements: RuntimeYmlRequirements,
  build_info: BuildInfo,
  /** The runtime.yaml the runtime was built from, byte for byte. */
  original_yaml: z.string(),
});
export type RuntimeYml = z.infer<typeof RuntimeYml>;

/** Largest runtime.yml read: the spec itself is at most 256 KiB. */
export const MAX_RUNTIME_YML_BYTES = 2 * 1024 * 1024;

const KEY_ORDER: (keyof RuntimeYml)[] = [
  'name',
  'language',
  'language_version',
  'version',
  'description',
  'mounts',
  'environment',
  'packages',
  'system_packages',
  'libraries',
  'requirements',
  'build_info',
  'original_yaml',
];

/** runtime.yml text: keys in the guide's order, `original_yaml` as a literal block. */
export function serializeRuntimeYml(y: RuntimeYml): string {
  const ordered: Record<string, unknown> = {};
  for (const key of KEY_ORDER) if (y[key] !== undefined) ordered[key] = y[key];
  // No anchors/aliases: the reader rejects them, and shared arrays would otherwise produce some.
  const doc = new Document(ordered, { aliasDuplicateObjects: false });
  doc.commentBefore = ` runtime.yml: generated by ${y.build_info.built_with} ${y.build_info.builder_version}; do not edit`;
  return doc.toString({ lineWidth: 0, blockQuote: 'literal' });
}

/** Parses and checks runtime.yml text. Never throws. */
export function parseRuntimeYml(
  text: string,
  file = 'runtime.yml',
): { ok: boolean; value?: RuntimeYml; errors: Diagnostic[] } {
  const loaded = loadYaml(text, {
    file,
    maxBytes: MAX_RUNTIME_YML_BYTES,
    what: 'runtime.yml',
    exampleKeys: 'name, language, mounts, environment, …',
  });
  if (!loaded.ok || !loaded.tree) return { ok: false, errors: loaded.errors };
  const parsed = RuntimeYml.safeParse(loaded.value);
  const errors = [
    ...loaded.errors,
    ...issuesToDiagnostics(parsed.error?.issues ?? [], {
      schema: RuntimeYml,
      value: loaded.value,
      locator: loaded.locator,
      reported: loaded.tree.reported,
    }),
  ];
  if (!parsed.success || errors.length > 0) return { ok: false, errors };
  return { ok: true, value: parsed.data, errors: [] };
}
