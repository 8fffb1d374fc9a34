/** Reading and checking what an installed (or just extracted) runtime tree holds. */
import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MAX_RUNTIME_YML_BYTES, parseRuntimeYml, type Arch, type RuntimeYml } from '@joblet/spec';
import { AgentError, AgentErrorCode } from '../errors.js';

/** Parses `<dir>/runtime.yml`; AgentError INVALID_RUNTIME naming every problem. */
export async function loadRuntimeYml(dir: string): Promise<RuntimeYml> {
  const file = join(dir, 'runtime.yml');
  let text: string;
  try {
    const st = await lstat(file);
    if (!st.isFile()) throw new Error('not a regular file');
    if (st.size > MAX_RUNTIME_YML_BYTES)
      throw new Error(`larger than ${MAX_RUNTIME_YML_BYTES} bytes`);
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new AgentError(
      `runtime.yml cannot be read: ${(err as Error).message}`,
      AgentErrorCode.InvalidRuntime,
      { cause: err },
    );
  }
  const parsed = parseRuntimeYml(text, file);
  if (!parsed.ok || !parsed.value) {
    const problems = parsed.errors.map((d) => `${d.path}: ${d.message}`).join('; ');
    throw new AgentError(`runtime.yml is invalid: ${problems}`, AgentErrorCode.InvalidRuntime);
  }
  return parsed.value;
}

/**
 * Checks that `dir` holds the runtime `name@version` for `arch`: a valid runtime.yml saying so,
 * and an `isolated/` directory. Returns the runtime.yml.
 */
export async function checkRuntimeTree(
  dir: string,
  name: string,
  version: string,
  arch: Arch,
): Promise<RuntimeYml> {
  const yml = await loadRuntimeYml(dir);
  const problems: string[] = [];
  if (yml.name !== name) problems.push(`its name is ${yml.name}, not ${name}`);
  if (yml.version !== version) problems.push(`its version is ${yml.version}, not ${version}`);
  if (!yml.requirements.architectures.includes(arch)) {
    problems.push(`it is for ${yml.requirements.architectures.join(', ')}, not ${arch}`);
  }
  const isolated = await lstat(join(dir, 'isolated')).catch(() => undefined);
  if (!isolated?.isDirectory()) problems.push('it has no isolated/ directory');
  if (problems.length > 0) {
    throw new AgentError(
      `the archive is not the runtime ${name}@${version}: ${problems.join('; ')}`,
      AgentErrorCode.InvalidRuntime,
    );
  }
  return yml;
}
