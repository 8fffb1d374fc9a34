/**
 * Stand-ins for the PyPI packages the guide installs (PyPI is not reachable from the farm's test
 * machines): tiny pure-Python wheels of the same names and import names, each with a
 * `__version__`, written offline and served by a local PEP 503 index (@joblet/testkit's startPipIndex). They stand in for the real
 * ones only where the guide needs a package by name: `import pandas`, `numpy.__version__`.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** [distribution name, import name, version]: what the guide's runtimes and jobs install. */
export const STAND_INS: readonly (readonly [string, string, string])[] = [
  ['numpy', 'numpy', '1.26.4'],
  ['pandas', 'pandas', '2.1.3'],
  ['scikit-learn', 'sklearn', '1.3.2'],
  ['matplotlib', 'matplotlib', '3.8.2'],
  ['seaborn', 'seaborn', '0.13.0'],
  ['scipy', 'scipy', '1.11.4'],
  ['requests', 'requests', '2.31.0'],
  ['pyyaml', 'yaml', '6.0.1'],
];

/**
 * Writes each stand-in as a wheel (a zip: the package, METADATA, WHEEL, RECORD) with Debian's
 * interpreter's zipfile — no setup.py run per package, so it takes well under a second even on
 * a loaded machine — into `dir`/wheels, and returns that directory.
 */
export async function buildStandInWheels(dir: string): Promise<string> {
  const out = join(dir, 'wheels');
  await mkdir(out, { recursive: true });
  const script = join(dir, 'make_wheels.py');
  await writeFile(script, MAKE_WHEELS);
  await exec('/usr/bin/python3', [script, out, JSON.stringify(STAND_INS)], { timeout: 120_000 });
  return out;
}

const MAKE_WHEELS = `import base64, hashlib, json, sys, zipfile
out, specs = sys.argv[1], json.loads(sys.argv[2])
for name, module, version in specs:
    dist = name.replace('-', '_')
    info = f'{dist}-{version}.dist-info'
    files = {
        f'{module}/__init__.py': f'"""Stand-in for {name} (the e2e tests cannot reach PyPI)."""\\n__version__ = {version!r}\\n',
        f'{info}/METADATA': f'Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n',
        f'{info}/WHEEL': 'Wheel-Version: 1.0\\nGenerator: joblet-e2e\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n',
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b'=').decode()
        record.append(f'{path},sha256={digest},{len(text.encode())}')
    record.append(f'{info}/RECORD,,')
    files[f'{info}/RECORD'] = '\\n'.join(record) + '\\n'
    with zipfile.ZipFile(f'{out}/{dist}-{version}-py3-none-any.whl', 'w') as z:
        for path, text in files.items():
            z.writestr(path, text)
`;
