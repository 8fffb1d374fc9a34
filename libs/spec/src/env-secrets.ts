/**
 * Secrets in an app's environment, the `_FILE` convention of Docker secrets and the official
 * images: `NAME` holds the secret itself, or `NAME_FILE` the path of a file that holds it (a
 * Docker/Kubernetes secret, a systemd credential, a 0600 file). A file keeps the secret out of
 * unit files, `docker inspect` and the process environment. Used by the apps' `env.ts`, the only
 * files that read `process.env`; nothing here ever puts a secret into a message.
 */
import { readFileSync, statSync } from 'node:fs';

/** A configuration problem, by variable name (what the apps' env.ts print, one per line). */
export interface EnvIssue {
  path: string;
  message: string;
}

/** Empty strings count as unset, as in a systemd unit or compose file with `VAR=`. */
export function withoutEmptyValues(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') out[k] = v;
  return out;
}

/** The error an app stops its start with: `invalid <app> configuration:` and one line per issue. */
export function configError(app: string, issues: readonly EnvIssue[]): Error {
  const lines = issues.map((i) => `  ${i.path}: ${i.message}`);
  return new Error(`invalid ${app} configuration:\n${lines.join('\n')}`);
}

/** The largest secret file read (a password or key, not a document). */
const MAX_SECRET_BYTES = 64 * 1024;

/**
 * The secret `name` from `env[name]` or from the file `env[name + '_FILE']`; setting both is an
 * issue, as is a file that cannot be read or is empty. Trailing line breaks of a file are removed
 * (`echo secret > file` works); an empty `env[name]` counts as unset. `env` is the raw environment
 * or an app's parsed one (where these are strings).
 */
export function secretFromEnv(
  env: Readonly<Record<string, unknown>>,
  name: string,
): { value?: string; issues: EnvIssue[] } {
  const fileVar = `${name}_FILE`;
  const inline = text(env[name]);
  const file = text(env[fileVar]);
  if (inline !== undefined && file !== undefined) {
    return {
      issues: [{ path: fileVar, message: `set ${name} or ${fileVar}, not both` }],
    };
  }
  if (file === undefined) return { ...(inline !== undefined && { value: inline }), issues: [] };
  let secret: string;
  try {
    if (statSync(file).size > MAX_SECRET_BYTES) {
      return { issues: [{ path: fileVar, message: `${file} is larger than 64 KiB` }] };
    }
    secret = readFileSync(file, 'utf8').replace(/[\r\n]+$/, '');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return { issues: [{ path: fileVar, message: `cannot read ${file} (${code})` }] };
  }
  if (secret === '') return { issues: [{ path: fileVar, message: `${file} is empty` }] };
  return { value: secret, issues: [] };
}

/** A non-empty string, else undefined. */
function text(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * Several secrets at once ({@link secretFromEnv} for each of `names`): the values that are set,
 * by name, and every issue.
 */
export function secretsFromEnv<N extends string>(
  env: Readonly<Record<string, unknown>>,
  names: readonly N[],
): { values: Partial<Record<N, string>>; issues: EnvIssue[] } {
  const values: Partial<Record<N, string>> = {};
  const issues: EnvIssue[] = [];
  for (const name of names) {
    const r = secretFromEnv(env, name);
    if (r.value !== undefined) values[name] = r.value;
    issues.push(...r.issues);
  }
  return { values, issues };
}
