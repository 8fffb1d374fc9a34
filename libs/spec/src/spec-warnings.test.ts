import { describe, expect, it } from 'vitest';
import { BASE, withBase } from './test-support/specs.js';
import { validateRuntimeSpec } from './validate.js';

const javaBase = BASE.replace(
  'language: python\n  version: "3.11"',
  'language: java\n  version: "21"',
);

interface WarningCase {
  name: string;
  yaml: string;
  line: number;
  column: number;
  path: string;
  code: string;
  message: string;
}

const cases: WarningCase[] = [
  {
    name: 'pip packages with a java base',
    yaml: `${javaBase}pip:\n  - requests\n`,
    ...{ line: 7, column: 1, path: 'pip', code: 'PIP_WITHOUT_PYTHON' },
    message:
      'pip packages with a java base: the base has no pip, so the build fails unless apt installs python3-pip',
  },
  {
    name: 'npm packages with a python base',
    yaml: withBase('npm: [left-pad]\n'),
    ...{ line: 7, column: 1, path: 'npm', code: 'NPM_WITHOUT_NODE' },
    message: 'npm packages with a python base',
  },
  {
    name: 'hook without a timeout',
    yaml: withBase('hooks:\n  post_install: echo done\n'),
    ...{ line: 8, column: 3, path: 'hooks.post_install', code: 'HOOK_WITHOUT_TIMEOUT' },
    message: 'no hooks.timeout: the default of 20m applies',
  },
  {
    name: 'timeout without hooks',
    yaml: withBase('hooks:\n  timeout: 5m\n'),
    ...{ line: 8, column: 3, path: 'hooks.timeout', code: 'NO_EFFECT' },
    message: 'has no effect without pre_install or post_install',
  },
  {
    name: 'base version the built-in catalog lacks',
    yaml: BASE.replace('"3.11"', '"3.8"'),
    ...{ line: 6, column: 12, path: 'base.version', code: 'UNKNOWN_BASE' },
    message:
      'python 3.8: no base in the built-in catalog; available: 3.9, 3.10, 3.11, 3.12, 3.13, 3.14',
  },
  {
    name: 'duplicate pip package (normalized name)',
    yaml: withBase('pip:\n  - scikit-learn\n  - Scikit_Learn>=1.3\n'),
    ...{ line: 9, column: 5, path: 'pip[1]', code: 'DUPLICATE_PACKAGE' },
    message: '"scikit-learn" is already listed at pip[0]',
  },
  {
    name: 'duplicate npm package',
    yaml: withBase('apt: [npm]\nnpm: [typescript@5, typescript]\n'),
    ...{ line: 8, column: 21, path: 'npm[1]', code: 'DUPLICATE_PACKAGE' },
    message: '"typescript" is already listed at npm[0]',
  },
  {
    name: 'duplicate apt package',
    yaml: withBase('apt: [curl, curl=7.88.1-10]\n'),
    ...{ line: 7, column: 13, path: 'apt[1]', code: 'DUPLICATE_PACKAGE' },
    message: '"curl" is already listed at apt[0]',
  },
  {
    name: 'gpu without cuda_version',
    yaml: withBase('requirements:\n  gpu: true\n'),
    ...{ line: 8, column: 8, path: 'requirements.gpu', code: 'GPU_WITHOUT_CUDA' },
    message: 'gpu: true without cuda_version',
  },
  {
    name: 'cuda_version without gpu',
    yaml: withBase('requirements:\n  cuda_version: "12.2"\n'),
    ...{ line: 8, column: 3, path: 'requirements.cuda_version', code: 'NO_EFFECT' },
    message: 'has no effect without gpu: true',
  },
  {
    name: 'pip_options without pip',
    yaml: withBase('pip_options: [--pre]\n'),
    ...{ line: 7, column: 1, path: 'pip_options', code: 'NO_EFFECT' },
    message: 'has no effect without pip packages',
  },
  {
    name: 'index URL with credentials',
    yaml: withBase(
      'pip: [numpy]\npip_options: ["--index-url=https://user:secret@pypi.example.com/simple"]\n',
    ),
    ...{ line: 8, column: 15, path: 'pip_options[0]', code: 'URL_CREDENTIALS' },
    message: 'the URL carries credentials',
  },
  {
    name: 'PATH without /usr/bin',
    yaml: withBase('environment:\n  PATH: /opt/tools/bin\n'),
    ...{ line: 8, column: 3, path: 'environment.PATH', code: 'ENV_OVERRIDE' },
    message: 'has neither /usr/bin nor /bin',
  },
  {
    name: 'LD_LIBRARY_PATH override',
    yaml: withBase('environment:\n  LD_LIBRARY_PATH: /opt/lib\n'),
    ...{ line: 8, column: 3, path: 'environment.LD_LIBRARY_PATH', code: 'ENV_OVERRIDE' },
    message: 'replaces the architecture-specific library path',
  },
  {
    name: 'library pattern matching everything',
    yaml: withBase('libraries: ["lib*"]\n'),
    ...{ line: 7, column: 13, path: 'libraries[0]', code: 'BROAD_LIBRARY' },
    message: '"lib*" matches nearly every library',
  },
  {
    name: 'platforms and architectures disagree',
    yaml: withBase('platforms: [ubuntu-amd64, rhel-arm64]\narchitectures: [amd64]\n'),
    ...{ line: 7, column: 1, path: 'platforms', code: 'ARCH_MISMATCH' },
    message: 'platforms name amd64, arm64 but architectures is amd64; architectures wins',
  },
];

describe('warnings', () => {
  it.each(cases)('$name', ({ yaml, line, column, path, code, message }) => {
    const r = validateRuntimeSpec(yaml);
    expect(r.errors).toEqual([]);
    expect(r.ok).toBe(true);
    const found = r.warnings.find((w) => w.code === code);
    expect(found, JSON.stringify(r.warnings, null, 2)).toMatchObject({
      severity: 'warning',
      line,
      column,
      path,
    });
    expect(found!.message).toContain(message);
  });

  it('has no warning for pip with a java base when apt installs pip', () => {
    const r = validateRuntimeSpec(`${javaBase}apt: [python3-pip]\npip: [requests]\n`);
    expect(r.warnings).toEqual([]);
  });

  it('allows the same pip project twice when markers split it', () => {
    const r = validateRuntimeSpec(
      withBase(
        `pip:\n  - numpy==1.26.4; python_version < "3.12"\n  - numpy==2.1.0; python_version >= "3.12"\n`,
      ),
    );
    expect(r.warnings).toEqual([]);
  });

  it('reports warnings together with errors elsewhere in the file', () => {
    const r = validateRuntimeSpec(withBase('hooks:\n  pre_install: echo hi\nnpm: [./local]\n'));
    expect(r.ok).toBe(false);
    expect(r.errors.map((e) => e.code)).toEqual(['INVALID_NPM']);
    expect(r.warnings.map((w) => w.code)).toEqual(['HOOK_WITHOUT_TIMEOUT']);
  });

  it('says nothing for a plain valid spec', () => {
    expect(validateRuntimeSpec(BASE).warnings).toEqual([]);
  });
});
