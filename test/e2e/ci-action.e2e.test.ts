/**
 * A CI author's path end to end (issue 17): the repository's action (.github/actions/rnx) run the
 * way GitHub runs its bash steps, with the environment GitHub gives them, against a real farm —
 * it installs rnx from the package `npm pack` made (no workspace), validates, builds for amd64
 * following `--progress=json` (NDJSON events, turned into log lines, outputs and a job summary)
 * and waits until the node has the runtime; then the installed rnx runs a job in it.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, type TempDir } from '@joblet/testkit';
import { runAction, type ActionRun } from '../infra/action-runner.js';
import { npmEnv, packRnx } from '../infra/rnx-package.js';
import { startFarm, type Farm } from './farm-fixture.js';

const exec = promisify(execFile);
/** A real build (debootstrap root, apt, packing, upload) and its deployment on a loaded machine. */
const BUILD_WAIT_MS = 900_000;
const NAME = 'ci-action-py';
const SPEC = `schema_version: "1.0"
name: ${NAME}
version: 1.0.0
description: built by the rnx GitHub Action
base:
  language: python
  version: "3.11"
`;

let farm: Farm;
let tmp: TempDir;
let token: string;
let run: ActionRun;

interface Event {
  type: string;
  time: string;
  arch?: string;
  [k: string]: unknown;
}

beforeAll(async () => {
  tmp = await makeTempDir('ci-action-e2e-');
  const { tarball } = await packRnx(tmp.path);
  farm = await startFarm();
  const created = await farm.rnx(['token', 'create', '--role', 'maintainer', '--name', 'ci', '-q']);
  if (created.code !== 0) throw new Error(`token create: ${created.stderr}`);
  token = created.stdout.trim();
  await writeFile(join(tmp.path, 'runtime.yaml'), SPEC);
  run = await runAction({
    inputs: { command: 'build', spec: 'runtime.yaml', arch: 'amd64', package: tarball },
    // What the workflow's job gives the action: the farm and a scoped token from its secrets.
    env: {
      ...npmEnv(tmp.path),
      npm_config_offline: 'true',
      HOME: tmp.path,
      RNX_SERVER: farm.url,
      RNX_TOKEN: token,
    },
    tmp: tmp.path,
    workspace: tmp.path,
  });
}, BUILD_WAIT_MS + 300_000);

afterAll(async () => {
  await farm?.down();
  await tmp?.cleanup();
}, 180_000);

describe('the rnx action against a farm', () => {
  it('installs rnx from the package, validates, builds, waits for the deploy: every step passes', () => {
    const detail = run.steps
      .map((s) => `${s.name}: ${s.code}\n${s.stdout}\n${s.stderr}`)
      .join('\n');
    expect(run.code, detail).toBe(0);
    expect(run.steps.map((s) => s.name)).toEqual([
      'Install rnx',
      "Trust the farm's CA",
      'Validate',
      'Build',
    ]);
    expect(run.steps[2]!.stdout).toContain('runtime.yaml: valid');
  });

  it('streams the build as NDJSON: queued, per-arch progress and logs, published, deployed, done', () => {
    const file = run.outputs.build!.events!;
    const events = readFileSync(file, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Event);
    const types = events.map((e) => (e.arch ? `${e.type}:${e.arch}` : e.type));
    expect(events[0]).toMatchObject({ type: 'queued', name: NAME, version: '1.0.0' });
    expect(events[0]!.arches).toEqual(['amd64']);
    expect(types).toContain('started:amd64');
    expect(types).toContain('phase:amd64');
    expect(types).toContain('log:amd64');
    expect(types).toContain('succeeded:amd64');
    expect(types.slice(-3)).toEqual(['published', 'deployed', 'done']);
    expect(events.at(-2)).toMatchObject({ nodes: { installed: 1, total: 1 } });
    expect(events.at(-1)).toMatchObject({ state: 'succeeded', exitCode: 0 });
    const build = events[0]!.build as string;
    expect(run.outputs.build).toMatchObject({ 'build-id': build, state: 'succeeded' });
  });

  it('shows GitHub a readable log, the build output folded per arch, and a job summary', () => {
    const out = run.steps[3]!.stdout;
    expect(out).toMatch(new RegExp(`^Building ${NAME} 1\\.0\\.0 for amd64 \\(build `, 'm'));
    expect(out).toContain('::group::amd64 build output');
    expect(out).toMatch(/^\[amd64\] \[\d+\/\d+\] /m);
    expect(out).toContain(`${NAME}@1.0.0 deployed to 1/1 nodes`);
    expect(run.summary).toContain('### rnx runtime build: succeeded');
    expect(run.summary).toMatch(/^\| amd64 \| built \| \d+ \| `[0-9a-f]{64}` \|$/m);
  });

  it('leaves an rnx that runs a job in the runtime it built', async () => {
    const rnx = join(tmp.path, 'runner-temp/rnx/bin/rnx');
    const { stdout } = await exec(
      rnx,
      ['job', 'run', `--runtime=${NAME}`, 'python3', '-c', 'print(6 * 7)'],
      {
        cwd: tmp.path,
        env: { PATH: process.env.PATH, HOME: tmp.path, RNX_SERVER: farm.url, RNX_TOKEN: token },
        timeout: 300_000,
      },
    );
    expect(stdout.trim()).toBe('42');
    const jobs = await exec(rnx, ['job', 'list', '-o', 'wide'], {
      env: { PATH: process.env.PATH, HOME: tmp.path, RNX_SERVER: farm.url, RNX_TOKEN: token },
    });
    expect(jobs.stdout).toMatch(
      new RegExp(`COMPLETED .* ${NAME}@1\\.0\\.0 +amd64 +\\S+ +0 +python3 -c`),
    );
  });
});
