/**
 * Warnings: legal input that is probably not what the author meant. They work on whatever parts
 * of a spec are well-formed, so they can be shown together with errors elsewhere in the file.
 */
import { platformToArch } from './arch.js';
import { DEFAULT_HOOK_TIMEOUT_S } from './constants.js';
import { DiagnosticCodes, quote, type DiagnosticCode, type PathSegment } from './diagnostic.js';
import { aptPackageName } from './checks/apt.js';
import { formatDuration } from './checks/fields.js';
import { npmPackageName } from './checks/npm-spec.js';
import { pipProjectName } from './checks/pep508.js';
import { pipOptionUrl } from './checks/pip-options.js';
import type { RuntimeSpec } from './runtime-spec.js';
import type { Anchor } from './source-locator.js';

export interface SpecFinding {
  code: DiagnosticCode;
  path: PathSegment[];
  message: string;
  anchor?: Anchor;
}

/** The well-formed parts of a spec (see `wellFormedParts`). */
export type PartialSpec = Partial<RuntimeSpec>;

function duplicates(
  field: 'pip' | 'npm' | 'apt',
  entries: readonly string[] | undefined,
  nameOf: (entry: string) => string | undefined,
): SpecFinding[] {
  const out: SpecFinding[] = [];
  const first = new Map<string, number>();
  entries?.forEach((entry, i) => {
    const name = nameOf(entry);
    if (name === undefined) return;
    const at = first.get(name);
    if (at === undefined) first.set(name, i);
    else {
      out.push({
        code: DiagnosticCodes.DUPLICATE_PACKAGE,
        path: [field, i],
        message: `${quote(name)} is already listed at ${field}[${at}]; keep one entry`,
      });
    }
  });
  return out;
}

function languageMismatch(spec: PartialSpec): SpecFinding[] {
  const out: SpecFinding[] = [];
  const language = spec.base?.language;
  const apt = new Set((spec.apt ?? []).map(aptPackageName));
  if (language && language !== 'python' && (spec.pip?.length ?? 0) > 0 && !apt.has('python3-pip')) {
    out.push({
      code: DiagnosticCodes.PIP_WITHOUT_PYTHON,
      path: ['pip'],
      anchor: 'key',
      message: `pip packages with a ${language} base: the base has no pip, so the build fails unless apt installs python3-pip`,
    });
  }
  if (language && language !== 'node' && (spec.npm?.length ?? 0) > 0 && !apt.has('npm')) {
    out.push({
      code: DiagnosticCodes.NPM_WITHOUT_NODE,
      path: ['npm'],
      anchor: 'key',
      message: `npm packages with a ${language} base: the base has no npm, so the build fails unless apt installs npm`,
    });
  }
  return out;
}

function hooks(spec: PartialSpec): SpecFinding[] {
  const out: SpecFinding[] = [];
  const h = spec.hooks;
  if (!h) return out;
  if (h.timeout === undefined) {
    for (const hook of ['pre_install', 'post_install'] as const) {
      if (h[hook] === undefined) continue;
      out.push({
        code: DiagnosticCodes.HOOK_WITHOUT_TIMEOUT,
        path: ['hooks', hook],
        anchor: 'key',
        message: `no hooks.timeout: the default of ${formatDuration(DEFAULT_HOOK_TIMEOUT_S)} applies; set one, e.g. timeout: 5m`,
      });
    }
  } else if (h.pre_install === undefined && h.post_install === undefined) {
    out.push({
      code: DiagnosticCodes.NO_EFFECT,
      path: ['hooks', 'timeout'],
      anchor: 'key',
      message: 'has no effect without pre_install or post_install',
    });
  }
  return out;
}

function requirements(spec: PartialSpec): SpecFinding[] {
  const r = spec.requirements;
  if (r?.gpu === true && r.cuda_version === undefined) {
    return [
      {
        code: DiagnosticCodes.GPU_WITHOUT_CUDA,
        path: ['requirements', 'gpu'],
        message:
          'gpu: true without cuda_version; say which CUDA version the runtime needs, e.g. cuda_version: "12.2"',
      },
    ];
  }
  if (r?.cuda_version !== undefined && r.gpu !== true) {
    return [
      {
        code: DiagnosticCodes.NO_EFFECT,
        path: ['requirements', 'cuda_version'],
        anchor: 'key',
        message: 'has no effect without gpu: true',
      },
    ];
  }
  return [];
}

function environment(spec: PartialSpec): SpecFinding[] {
  const out: SpecFinding[] = [];
  const env = spec.environment ?? {};
  const at = (name: string, message: string): SpecFinding => ({
    code: DiagnosticCodes.ENV_OVERRIDE,
    path: ['environment', name],
    anchor: 'key',
    message,
  });
  const path = env.PATH;
  if (path !== undefined && !path.split(':').some((d) => d === '/usr/bin' || d === '/bin')) {
    out.push(
      at(
        'PATH',
        "replaces the runtime's PATH and has neither /usr/bin nor /bin; most commands will not be found",
      ),
    );
  }
  if (env.LD_LIBRARY_PATH !== undefined) {
    out.push(
      at(
        'LD_LIBRARY_PATH',
        'replaces the architecture-specific library path the builder sets (lib/x86_64-linux-gnu or lib/aarch64-linux-gnu); include those directories',
      ),
    );
  }
  if (env.JAVA_HOME !== undefined && spec.base?.language === 'java') {
    out.push(at('JAVA_HOME', 'replaces the architecture-specific JAVA_HOME the builder sets'));
  }
  return out;
}

function misc(spec: PartialSpec): SpecFinding[] {
  const out: SpecFinding[] = [];
  if ((spec.pip_options?.length ?? 0) > 0 && (spec.pip?.length ?? 0) === 0) {
    out.push({
      code: DiagnosticCodes.NO_EFFECT,
      path: ['pip_options'],
      anchor: 'key',
      message: 'has no effect without pip packages',
    });
  }
  spec.pip_options?.forEach((option, i) => {
    const url = pipOptionUrl(option);
    if (url && (url.username || url.password)) {
      out.push({
        code: DiagnosticCodes.URL_CREDENTIALS,
        path: ['pip_options', i],
        message:
          'the URL carries credentials; they are stored in runtime.yml (original_yaml) for anyone who can read the runtime',
      });
    }
  });
  spec.libraries?.forEach((pattern, i) => {
    if (['', 'lib', '.so', 'lib.so'].includes(pattern.replace(/[*?]|\[[^\]]*\]/g, ''))) {
      out.push({
        code: DiagnosticCodes.BROAD_LIBRARY,
        path: ['libraries', i],
        message: `${quote(pattern)} matches nearly every library; name the libraries, e.g. "libopenblas*"`,
      });
    }
  });
  if (spec.architectures && spec.platforms) {
    const fromPlatforms = [...new Set(spec.platforms.map(platformToArch))].sort().join(', ');
    const declared = [...new Set(spec.architectures)].sort().join(', ');
    if (fromPlatforms !== declared) {
      out.push({
        code: DiagnosticCodes.ARCH_MISMATCH,
        path: ['platforms'],
        anchor: 'key',
        message: `platforms name ${fromPlatforms} but architectures is ${declared}; architectures wins`,
      });
    }
  }
  return out;
}

/** Every warning for the well-formed parts of a spec. */
export function specWarnings(spec: PartialSpec): SpecFinding[] {
  return [
    ...languageMismatch(spec),
    // Requirements split by markers (numpy==1.26; python_version<"3.12") legitimately repeat a name.
    ...duplicates('pip', spec.pip, (r) => (r.includes(';') ? undefined : pipProjectName(r))),
    ...duplicates('npm', spec.npm, npmPackageName),
    ...duplicates('apt', spec.apt, aptPackageName),
    ...hooks(spec),
    ...requirements(spec),
    ...environment(spec),
    ...misc(spec),
  ];
}
