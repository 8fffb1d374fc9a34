/**
 * The guide users read first (docs/joblet-runtime-system-guide.md), walked top to bottom against
 * a farm started by `rnx farm up`: every `rnx` line runs through bash exactly as written (from a
 * directory holding the files it names, with the runtime.yaml the guide has the reader write at
 * that point), and the real result of each is checked against guide-walk.expect.ts — success
 * where the guide promises one, and where the line as written cannot succeed (a script it never
 * uploads, a volume it never creates) the honest error a user gets.
 *
 * PyPI is not reachable here: builds and jobs get stand-in packages of the same names from a
 * local PEP 503 index (stand-in-wheels.ts) — builds through BUILD_PIP_INDEX_URL, jobs through the
 * operator's job mirror AGENT_JOB_PIP_INDEX_URL, with `isolated` (egress) as the farm's default
 * network (API_DEFAULT_NETWORK) so that `pip install` and the guide's apt-get lines reach out.
 *
 * The runtimes the guide uses before it builds them (python-3.11, openjdk-17, openjdk-21) are
 * built first, as an operator would have; every runtime is built once and shared by every line.
 * Last, a Joblet-style script (run --detach, parse `ID:`, poll `Status:`, read the log) works.
 */
import { execFile } from 'node:child_process';
import { symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, startPipIndex, type PipIndex } from '@joblet/testkit';
import { RNX, startFarm, type Farm } from './farm-fixture.js';
import { GUIDE, REPO, guideSteps, guideSpec } from './guide-lines.js';
import { buildStandInWheels } from './stand-in-wheels.js';
import { GUIDE_FILES, OPENJDK_21, expectationFor, type LineResult } from './guide-walk.expect.js';

const exec = promisify(execFile);
/** Room for a real build on a loaded machine (as the other e2e tests). */
const BUILD_WAIT_MS = 900_000;

let farm: Farm;
let index: PipIndex;
let dir: string;

/** Runs one line as the reader would: bash, in the guide's directory, as the farm's owner. */
async function bash(script: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<LineResult> {
  return exec('/bin/bash', ['-c', script], {
    cwd: dir,
    env: {
      PATH: `${join(dir, 'bin')}:${process.env.PATH}`,
      HOME: farm.tmp.path,
      NO_COLOR: '1',
      RNX_SERVER: farm.url,
      JOBLET_FARM_DIR: farm.dir,
      // The guide's multi-host loop names each server `$host`: here the farm, as host:port.
      host: new URL(farm.url).host,
      ...extraEnv,
    },
    timeout: BUILD_WAIT_MS,
    maxBuffer: 64 * 1024 * 1024,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: Error & { code?: number; stdout?: string; stderr?: string }) => ({
      code: typeof e.code === 'number' ? e.code : -1,
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? e.message,
    }),
  );
}

async function build(path: string): Promise<void> {
  const r = await bash(`rnx runtime build ${path}`);
  if (r.code !== 0)
    throw new Error(`building ${path} failed (${r.code}): ${r.stdout}\n${r.stderr}`);
}

// The whole walk builds five runtimes before its first line (over 25 min on a loaded 2-core
// machine) and has not yet completed once: it is opt-in until it fits the suite's budget.
const WALK = process.env.JOBLET_GUIDE_WALK === '1';
if (!WALK)
  console.warn(
    'skipping the guide walk: opt-in (JOBLET_GUIDE_WALK=1), it does not fit the CI budget yet',
  );

describe.skipIf(!WALK)('the guide walk', () => {
  beforeAll(async () => {
    // The stand-in index is up before the farm: the worker and the agent resolve it at start.
    const wheelsTmp = await makeTempDir('guide-wheels-');
    try {
      index = await startPipIndex(await buildStandInWheels(wheelsTmp.path));
    } finally {
      await wheelsTmp.cleanup(); // the index holds the wheels in memory
    }
    farm = await startFarm({
      env: {
        BUILD_PIP_INDEX_URL: index.url,
        AGENT_JOB_PIP_INDEX_URL: index.url,
        API_DEFAULT_NETWORK: 'isolated',
      },
    });
    dir = join(farm.tmp.path, 'guide');
    await exec('mkdir', ['-p', join(dir, 'bin')]);
    await symlink(join(REPO, 'examples'), join(dir, 'examples'));
    for (const [file, content] of Object.entries(GUIDE_FILES))
      await writeFile(join(dir, file), content);
    await writeFile(join(dir, 'openjdk-21.yaml'), OPENJDK_21);
    await writeFile(
      join(dir, 'bin', 'rnx'),
      `#!/bin/sh\nexec "${process.execPath}" "${RNX}" "$@"\n`,
      {
        mode: 0o755,
      },
    );
    // What the guide runs before it builds: its own runtime.yaml (python-3.11-ml) and the others.
    await writeFile(join(dir, 'runtime.yaml'), guideSpec(GUIDE));
    for (const spec of [
      './runtime.yaml',
      './examples/python-3.11/runtime.yaml',
      './examples/openjdk-17/runtime.yaml',
      './openjdk-21.yaml',
      './examples/java-21/runtime.yaml',
    ])
      await build(spec);
  }, 6 * BUILD_WAIT_MS);

  // `farm down` stops five processes and a build in progress: minutes on a loaded machine.
  afterAll(async () => {
    await farm?.down();
    await index?.close();
  }, 600_000);

  describe('the guide, walked top to bottom against a farm', () => {
    it(
      'runs every command line as written, each with the result the guide (or honesty) gives',
      async () => {
        const problems: string[] = [];
        const transcript: string[] = [];
        // The guide has the reader write runtime.yaml three times (two python-3.11-ml heredocs,
        // then python-3.12-custom): lines on ./runtime.yaml are checked against the last one.
        let written = 0;
        for (const step of guideSteps(GUIDE)) {
          if (step.kind === 'write') {
            await writeFile(join(dir, step.file), step.content);
            written++;
            transcript.push(`(writes ${step.file} #${written})`);
            continue;
          }
          const expectation = expectationFor(step.line, written);
          if (!expectation) {
            problems.push(`${step.line}\n  → no expectation in guide-walk.expect.ts`);
            continue;
          }
          const r = await bash(step.line);
          transcript.push(`$ ${step.line}\n  → exit ${r.code}`);
          try {
            expectation(r);
            await afterLine(step.line, r);
          } catch (err) {
            problems.push(
              `${step.line}\n  → exit ${r.code}\n  stdout: ${r.stdout.trim()}\n  stderr: ${r.stderr.trim()}\n  ${(err as Error).message}`,
            );
          }
        }
        process.stderr.write(`${transcript.join('\n')}\n`);
        expect(problems).toEqual([]);
      },
      12 * BUILD_WAIT_MS,
    );

    it(
      'works with a Joblet-style script: run --detach, parse ID:, poll Status:, read the log',
      async () => {
        const script = `set -euo pipefail
out=$(rnx job run --detach --runtime=python-3.11 python -c 'print("hello from a joblet script")')
id=$(printf '%s\\n' "$out" | sed -n 's/^ID: //p')
[ -n "$id" ] || { echo "no ID: line in: $out" >&2; exit 1; }
status=
for _ in $(seq 1 1200); do
  status=$(rnx job status "\${id:0:8}" | sed -n 's/^Status: \\([A-Z]*\\).*/\\1/p')
  case "$status" in COMPLETED|FAILED|STOPPED|CANCELED) break ;; esac
  sleep 0.5
done
echo "final status: $status"
rnx job log "$id"
`;
        const r = await bash(script);
        expect(r.stderr).toBe('');
        expect(r.stdout).toBe('final status: COMPLETED\nhello from a joblet script\n');
        expect(r.code).toBe(0);
      },
      BUILD_WAIT_MS,
    );
  });

  /**
   * What a line leaves that the next ones must not see. The guide's sections are recipes, not one
   * script: it removes python-3.11-ml "when no longer needed" and uses it in the next section, so a
   * removal is followed by the rebuild a reader of the next section would have done. The
   * scheduled job is checked and cancelled.
   */
  async function afterLine(line: string, r: LineResult): Promise<void> {
    if (line.startsWith('rnx runtime remove python-3.11-ml') && r.code === 0) {
      await build('./examples/python-3.11-ml/runtime.yaml');
      return;
    }
    if (!line.includes('--schedule')) return;
    const id = /^ID: (\S+)$/m.exec(`${r.stdout}\n${r.stderr}`)?.[1];
    if (!id) throw new Error('no ID: line for the scheduled job');
    const status = await bash(`rnx job status ${id}`);
    expect(status.stdout).toMatch(/^Status: SCHEDULED$/m);
    const cancel = await bash(`rnx job cancel ${id}`);
    expect(cancel.code).toBe(0);
  }
});
