/**
 * `rnx runtime validate` through the real binary (`bin/rnx.js` → the esbuild bundle), offline and
 * against a running API.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, type TempDir, freePort } from '@joblet/testkit';
import { startTestApi, type TestApi } from '@joblet/api/testing';
import { runRnx } from './test-support/rnx-binary.js';

const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url));
/** The guide's python-3.12-custom asking for python 3.8, which no catalog has. */
function missingBaseSpec(): string {
  const file = join(tmp.path, 'python-3.8-custom', 'runtime.yaml');
  mkdirSync(join(tmp.path, 'python-3.8-custom'), { recursive: true });
  const text = readFileSync(join(EXAMPLES, 'python-3.12-custom', 'runtime.yaml'), 'utf8');
  writeFileSync(file, text.replace('version: "3.12"', 'version: "3.8"'));
  return file;
}

function rnx(args: string[], env: NodeJS.ProcessEnv = {}) {
  return runRnx(args, { HOME: tmp.path, ...env });
}

let tmp: TempDir;
beforeAll(async () => {
  tmp = await makeTempDir('rnx-cli-');
});
afterAll(() => tmp.cleanup());

describe('rnx runtime validate (offline)', () => {
  it.each([
    'python-3.11-ml',
    'python-3.11',
    'openjdk-21',
    'openjdk-17',
    'python-3.12-custom',
    'node-20',
    'java-21',
  ])('accepts the %s example by directory, exit 0', async (name) => {
    const r = await rnx(['runtime', 'validate', join(EXAMPLES, name)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `✓ ${join(EXAMPLES, name, 'runtime.yaml')} is valid (checked offline)`,
    );
    expect(r.stdout).toMatch(new RegExp(`Runtime: +${name.replace(/\./g, '\\.')} `));
  });

  it('warns offline about a base the built-in catalog lacks, and still exits 0', async () => {
    const r = await rnx(['runtime', 'validate', missingBaseSpec()]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /⚠ .*runtime\.yaml:9:12 base\.version: python 3\.8: no base in the built-in catalog; available: 3\.9, 3\.10, 3\.11, 3\.12/,
    );
  });

  it('prints every error with file:line:column and exits 1', async () => {
    const file = join(tmp.path, 'bad.yaml');
    writeFileSync(
      file,
      'schema_version: "1.0"\nname: ok\nversion: 1.0.0\nbase:\n  language: pyhton\n  version: "3.11"\npipp: [x]\n',
    );
    const r = await rnx(['runtime', 'validate', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`✗ ${file} is invalid: 2 errors, 0 warnings`);
    expect(r.stdout).toContain(
      `✗ ${file}:5:13 base.language: "pyhton" is not supported (python, java, node, go, rust, debian) — did you mean "python"?`,
    );
    expect(r.stdout).toContain(`✗ ${file}:7:1 pipp: unknown key "pipp" — did you mean "pip"?`);
  });

  it('emits a machine-readable report with --json', async () => {
    const r = await rnx(['runtime', 'validate', '--json', join(EXAMPLES, 'openjdk-17')]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ valid: true, checkedBy: 'offline', errors: [] });
    expect(report.summary).toMatchObject({
      name: 'openjdk-17',
      language: 'java',
      languageVersion: '17',
    });
  });

  it('falls back from runtime.yaml to runtime.yml in a directory', async () => {
    const dir = join(tmp.path, 'yml-only');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'runtime.yml'),
      'schema_version: "1.0"\nname: r\nversion: 1.0.0\nbase: { language: node, version: "20" }\n',
    );
    const r = await rnx(['runtime', 'validate', dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(join(dir, 'runtime.yml'));
  });

  it('exits 2 on usage errors: missing file, empty directory, unknown flag, missing argument', async () => {
    const missing = await rnx(['runtime', 'validate', join(tmp.path, 'nope.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such file or directory');
    const emptyDir = join(tmp.path, 'empty');
    mkdirSync(emptyDir);
    const empty = await rnx(['runtime', 'validate', emptyDir]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('no runtime.yaml or runtime.yml in this directory');
    expect((await rnx(['runtime', 'validate', '--bogus', emptyDir])).code).toBe(2);
    expect((await rnx(['runtime', 'validate'])).code).toBe(2);
  });

  it('reports binary garbage as an invalid spec, not a crash', async () => {
    const file = join(tmp.path, 'garbage.yaml');
    writeFileSync(file, Buffer.from([0xff, 0xfe, 0x00, 0x41, 0x80, 0x0a]));
    const r = await rnx(['runtime', 'validate', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/garbage\.yaml:1:1 /);
  });
});

describe('rnx runtime validate (with a server)', () => {
  let api: TestApi;
  let url: string;
  beforeAll(async () => {
    api = await startTestApi(['amd64']);
    url = await api.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(() => api.close());

  it('asks the server, whose catalog makes a missing base an error', async () => {
    const r = await rnx(['--server', url, 'runtime', 'validate', missingBaseSpec()]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`(checked by ${url})`);
    expect(r.stdout).toMatch(
      /✗ .*python-3\.8-custom\/runtime\.yaml:9:12 base\.version: python 3\.8/,
    );
  });

  it('shows live workers and server warnings for a valid spec (server from RNX_SERVER)', async () => {
    const r = await rnx(['runtime', 'validate', join(EXAMPLES, 'python-3.11')], {
      RNX_SERVER: url,
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`is valid (checked by ${url})`);
    expect(r.stdout).toMatch(/Workers: +amd64 0/);
    expect(r.stdout).toContain('no amd64 workers are online');
  });

  it('uses the config file, and --offline skips the server', async () => {
    mkdirSync(join(tmp.path, '.rnx'), { recursive: true });
    writeFileSync(
      join(tmp.path, '.rnx', 'rnx-config.yml'),
      `current: local\nservers:\n  local: { url: "${url}" }\n`,
    );
    const viaFile = await rnx(['runtime', 'validate', join(EXAMPLES, 'openjdk-17')]);
    expect(viaFile.stdout).toContain(`(checked by ${url})`);
    const offline = await rnx(['runtime', 'validate', '--offline', join(EXAMPLES, 'openjdk-17')]);
    expect(offline.stdout).toContain('(checked offline)');
  });

  it('exits 3 with a clear message when the configured server is down', async () => {
    const down = `http://127.0.0.1:${await freePort()}`;
    const r = await rnx(['--server', down, 'runtime', 'validate', join(EXAMPLES, 'openjdk-17')]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`cannot reach the server at ${down} (from --server): ECONNREFUSED`);
  });
});
