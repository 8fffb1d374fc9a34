/**
 * `-o json|yaml|wide` on every list command, through the real binary against a running API (real
 * Redis, a real directory store): `-o json` prints exactly what `--json` prints, `-o yaml` the
 * same data as YAML, `-o wide` the table's columns and more (the narrow table stays as it was,
 * for the scripts that parse it), and a bad format or `--json` with `-o` is a usage error (2).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { makeTempDir, type TempDir } from '@joblet/testkit';
import { publishFakeRuntime, registerNode, startTestApi, type TestApi } from '@joblet/api/testing';
import { runRnx } from './test-support/rnx-binary.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

let api: TestApi;
let home: TempDir;

function rnx(args: string[]) {
  return runRnx(['--server', api.url!, ...args], { HOME: home.path, RNX_CONFIG: '/nonexistent' });
}

beforeAll(async () => {
  home = await makeTempDir('rnx-output-');
  api = await startTestApi(['amd64'], { listen: true });
  await publishFakeRuntime(api, 'py', '1.0.0', ['amd64']);
  await registerNode(api, 'n1', 'amd64', ['py@1.0.0']);
  // A volume in the registry the API lists (creating one needs an agent to answer).
  await api.redis.sadd(api.app.keys.volumes('n1'), 'datasets');
  await api.redis.hset(api.app.keys.volumeSizes('n1'), 'datasets', 1024 ** 3);
  const made = [
    await rnx(['network', 'create', 'prod', '--cidr', '10.10.0.0/24']),
    await rnx(['token', 'create', '--role', 'reader', '--name', 'ci', '-q']),
    // Scheduled an hour ahead: listed, and never started (no agent here).
    await rnx(['job', 'run', '--runtime=py', '--schedule', '1hour', '--json', 'echo', 'hi']),
  ];
  const spec = join(home.path, 'runtime.yaml');
  await writeFile(
    spec,
    'schema_version: "1.0"\nname: py-out\nversion: 1.0.0\nbase:\n  language: python\n  version: "3.11"\n',
  );
  made.push(await rnx(['runtime', 'build', '--no-wait', spec]));
  for (const r of made) expect(r.code, r.stderr).toBe(0);
}, 60_000);
afterAll(async () => {
  await api?.close();
  await home?.cleanup();
});

/** Each list command, a value its rows must show, and the columns `-o wide` adds. */
const LISTS: { args: string[]; shows: string; wide: string[] }[] = [
  { args: ['runtime', 'list'], shows: 'py', wide: ['ARCHES', 'NODES', 'PUBLISHED'] },
  { args: ['build', 'list'], shows: 'py-out', wide: ['FINISHED', 'SKIPPED', 'ERROR'] },
  { args: ['job', 'list'], shows: 'SCHEDULED', wide: ['RUNTIME', 'ARCH', 'NETWORK', 'EXIT CODE'] },
  { args: ['node', 'list'], shows: 'n1', wide: ['CAPACITY', 'AGENT', 'LABELS'] },
  { args: ['volume', 'list'], shows: 'datasets', wide: ['BYTES', 'MOUNT'] },
  { args: ['network', 'list'], shows: 'prod', wide: ['CREATED'] },
  { args: ['token', 'list'], shows: 'ci', wide: ['CREATED', 'REVOKED'] },
];

const header = (out: string) => out.split('\n')[0]!.trim().split(/ {2,}/);

describe.each(LISTS)('rnx $args.0 $args.1 -o', ({ args, shows, wide }) => {
  it('json prints what --json prints; yaml the same data', async () => {
    const json = await rnx([...args, '--json']);
    expect(json.code, json.stderr).toBe(0);
    const data = JSON.parse(json.stdout) as unknown[];
    expect(JSON.stringify(data)).toContain(shows);
    const o = await rnx([...args, '-o', 'json']);
    expect(o.stdout).toBe(json.stdout);
    const long = await rnx([...args, '--output=json']);
    expect(long.stdout).toBe(json.stdout);
    const yaml = await rnx([...args, '-o', 'yaml']);
    expect(yaml.code, yaml.stderr).toBe(0);
    expect(yaml.stdout.trimStart().startsWith('[')).toBe(false);
    expect(parse(yaml.stdout)).toEqual(data);
  });

  it('wide keeps the narrow columns and adds its own; the row is there', async () => {
    const narrow = await rnx(args);
    const wider = await rnx([...args, '-o', 'wide']);
    expect(wider.code, wider.stderr).toBe(0);
    expect(wider.stdout).toContain(shows);
    const cols = header(wider.stdout);
    for (const c of [...header(narrow.stdout), ...wide]) expect(cols).toContain(c);
    expect(header(narrow.stdout)).not.toContain(wide[0]);
  });

  it('refuses an unknown format and --json with -o (usage, exit 2)', async () => {
    const bad = await rnx([...args, '-o', 'xml']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("argument 'xml' is invalid. Allowed choices are json, yaml, wide");
    const both = await rnx([...args, '--json', '-o', 'yaml']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('cannot be used with option');
  });
});
