/**
 * The runtime.yaml schema (`schema_version: "1.0"`): shape and content in one zod schema, so that
 * any consumer (API body, worker payload) gets the same checks as `validateRuntimeSpec`. Content
 * refinements carry a diagnostic code and a message that says what is allowed.
 */
import { z } from 'zod';
import { ARCHITECTURES, LANGUAGES, LIMITS, PLATFORMS, SCHEMA_VERSION } from './constants.js';
import { DiagnosticCodes, quote, type DiagnosticCode, type PathSegment } from './diagnostic.js';
import { checkAptPackage } from './checks/apt.js';
import type { Check } from './checks/check.js';
import {
  checkCudaVersion,
  checkDisplayText,
  checkEnvName,
  checkEnvNameAllowed,
  checkEnvValue,
  checkHookScript,
  checkHookTimeout,
  checkLanguageVersion,
  checkLibraryGlob,
  checkMemorySize,
  checkRuntimeName,
  checkRuntimeVersion,
} from './checks/fields.js';
import { checkNpmSpec } from './checks/npm-spec.js';
import { checkPipRequirement } from './checks/pep508.js';
import { checkPipOption } from './checks/pip-options.js';
import { checkKeepPath } from './prune.js';
import type { IssueParams } from './zod-diagnostics.js';

/**
 * A string of at most `max` characters that passes `checks`. Content checks are skipped for
 * over-long values, which already have their error. Characters are code points, as zod's
 * `.max()` counts them: measured in UTF-16 units, a value of astral characters (emoji, U+10000…)
 * could be "too long" here but not for zod, and get no error at all.
 */
function checked(max: number, code: DiagnosticCode, ...checks: Check[]) {
  return z
    .string()
    .max(max)
    .superRefine((value, ctx) => {
      if (codePoints(value) > max) return;
      for (const check of checks) {
        const message = check(value);
        if (message === undefined) continue;
        const params: IssueParams = { code };
        ctx.addIssue({ code: 'custom', message, params });
        return;
      }
    });
}

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** A list whose entries must be unique (architectures, platforms). */
function uniqueList<T extends string>(item: z.ZodType<T>) {
  return z.array(item).superRefine((list, ctx) => {
    const first = new Map<string, number>();
    list.forEach((entry, i) => {
      const at = first.get(entry);
      if (at === undefined) first.set(entry, i);
      else {
        const params: IssueParams = { code: DiagnosticCodes.DUPLICATE_ENTRY };
        ctx.addIssue({
          code: 'custom',
          path: [i],
          message: `${quote(entry)} is listed twice (first at [${at}])`,
          params,
        });
      }
    });
  });
}

const EnvName = z
  .string()
  .max(LIMITS.envNameChars)
  .superRefine((name, ctx) => {
    const bad = checkEnvName(name);
    const reserved = bad === undefined ? checkEnvNameAllowed(name) : undefined;
    const message = bad ?? reserved;
    if (message === undefined) return;
    const params: IssueParams = {
      code: bad ? DiagnosticCodes.INVALID_ENV_NAME : DiagnosticCodes.RESERVED_ENV_NAME,
      at: 'key',
    };
    ctx.addIssue({ code: 'custom', message, params });
  });

/** `base`: the language and its version, looked up in the base catalog. */
export const BaseSpec = z.strictObject({
  language: z.enum(LANGUAGES),
  version: checked(32, DiagnosticCodes.INVALID_VERSION, checkLanguageVersion),
});
export type BaseSpec = z.infer<typeof BaseSpec>;

/** `requirements`: what a node needs to run jobs in this runtime. */
export const RequirementsSpec = z.strictObject({
  gpu: z.boolean().optional(),
  cuda_version: checked(32, DiagnosticCodes.INVALID_CUDA, checkCudaVersion).optional(),
  min_memory: checked(32, DiagnosticCodes.INVALID_MEMORY, checkMemorySize).optional(),
});
export type RequirementsSpec = z.infer<typeof RequirementsSpec>;

/** `hooks`: shell run inside the build sandbox, before and after package installation. */
export const HooksSpec = z.strictObject({
  pre_install: checked(LIMITS.hookChars, DiagnosticCodes.INVALID_TEXT, checkHookScript).optional(),
  post_install: checked(LIMITS.hookChars, DiagnosticCodes.INVALID_TEXT, checkHookScript).optional(),
  timeout: checked(16, DiagnosticCodes.INVALID_DURATION, checkHookTimeout).optional(),
});
export type HooksSpec = z.infer<typeof HooksSpec>;

/**
 * `prune`: translations, docs and manual pages are left out of the artifact (see prune.ts)
 * unless `enabled: false`; `keep` names paths below them to pack all the same.
 */
export const PruneSpec = z.strictObject({
  enabled: z.boolean().optional(),
  keep: uniqueList(checked(LIMITS.pathChars, DiagnosticCodes.INVALID_PATH, checkKeepPath))
    .max(LIMITS.keepEntries)
    .optional(),
});
export type PruneSpec = z.infer<typeof PruneSpec>;

const pkg = (code: DiagnosticCode, check: Check) =>
  z.array(checked(LIMITS.packageSpecChars, code, check)).max(LIMITS.listEntries);

/** A runtime.yaml, `schema_version: "1.0"`. */
export const RuntimeSpec = z.strictObject({
  schema_version: z.literal(SCHEMA_VERSION),
  name: checked(LIMITS.nameChars, DiagnosticCodes.INVALID_NAME, checkRuntimeName),
  version: checked(LIMITS.versionChars, DiagnosticCodes.INVALID_VERSION, checkRuntimeVersion),
  description: checked(
    LIMITS.descriptionChars,
    DiagnosticCodes.INVALID_TEXT,
    checkDisplayText,
  ).optional(),
  base: BaseSpec,
  pip: pkg(DiagnosticCodes.INVALID_PIP, checkPipRequirement).optional(),
  pip_options: z
    .array(checked(512, DiagnosticCodes.PIP_OPTION, checkPipOption))
    .max(64)
    .optional(),
  npm: pkg(DiagnosticCodes.INVALID_NPM, checkNpmSpec).optional(),
  apt: pkg(DiagnosticCodes.INVALID_APT, checkAptPackage).optional(),
  libraries: z
    .array(checked(LIMITS.libraryChars, DiagnosticCodes.INVALID_LIBRARY, checkLibraryGlob))
    .max(LIMITS.libraryEntries)
    .optional(),
  environment: z
    .record(EnvName, checked(LIMITS.envValueChars, DiagnosticCodes.INVALID_TEXT, checkEnvValue))
    .superRefine((env, ctx) => {
      const n = Object.keys(env).length;
      if (n <= LIMITS.environmentEntries) return;
      const params: IssueParams = { code: DiagnosticCodes.TOO_LONG };
      ctx.addIssue({
        code: 'custom',
        message: `has too many variables: at most ${LIMITS.environmentEntries} (got ${n})`,
        params,
      });
    })
    .optional(),
  requirements: RequirementsSpec.optional(),
  platforms: uniqueList(z.enum(PLATFORMS)).optional(),
  architectures: uniqueList(z.enum(ARCHITECTURES)).min(1).optional(),
  hooks: HooksSpec.optional(),
  prune: PruneSpec.optional(),
});
export type RuntimeSpec = z.infer<typeof RuntimeSpec>;

/** The top-level keys of a spec, in the order the guide writes them. */
export const SPEC_KEYS = Object.keys(RuntimeSpec.shape) as (keyof RuntimeSpec)[];

/**
 * Fields where an unquoted YAML number or boolean is taken as the text written (`version: 21`),
 * provided YAML reads it unchanged; see `TreeOptions.coerce`.
 */
export function isTextField(path: readonly PathSegment[]): boolean {
  const [a, b] = path;
  if (path.length === 1) return a === 'schema_version' || a === 'version';
  if (path.length !== 2) return false;
  return (
    (a === 'base' && b === 'version') ||
    (a === 'requirements' && (b === 'cuda_version' || b === 'min_memory')) ||
    (a === 'hooks' && b === 'timeout') ||
    a === 'environment'
  );
}
