/**
 * Runs the `run:` steps of a composite action (.github/actions/rnx) the way GitHub's runner runs
 * them, for tests: each in `bash --noprofile --norc -eo pipefail` (GitHub's `shell: bash`), with
 * the step's `env:` (its `${{ inputs.name }}` from the given inputs or the input's default) over
 * the job's environment, RUNNER_TEMP, GITHUB_ACTION_PATH, GITHUB_WORKSPACE and the GITHUB_ENV,
 * GITHUB_PATH, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files, whose lines later steps see as the
 * runner passes them on. `uses:` steps (setup-node) are skipped: the test's Node stands in.
 * Stops at the first failing step, as the runner does.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { REPO } from './repo.js';

const exec = promisify(execFile);

export const ACTION_DIR = join(REPO, '.github/actions/rnx');

export interface ActionStep {
  name?: string;
  id?: string;
  uses?: string;
  shell?: string;
  run?: string;
  env?: Record<string, string>;
  with?: Record<string, string>;
}
export interface Action {
  name: string;
  inputs: Record<string, { description: string; default?: string; required?: boolean }>;
  outputs: Record<string, { description: string; value: string }>;
  runs: { using: string; steps: ActionStep[] };
}

export const readAction = (): Action =>
  parse(readFileSync(join(ACTION_DIR, 'action.yml'), 'utf8')) as Action;

export interface StepRun {
  name: string;
  code: number;
  stdout: string;
  stderr: string;
}
export interface ActionRun {
  steps: StepRun[];
  /** 0 when every step passed, else the failing step's exit code. */
  code: number;
  /** `name=value` lines the steps wrote to GITHUB_OUTPUT, by step id. */
  outputs: Record<string, Record<string, string>>;
  summary: string;
  stdout: string;
}

/** `${{ inputs.x }}` → the input's value; anything else in an expression is refused. */
function expand(value: string, inputs: Record<string, string>): string {
  return value.replace(/\$\{\{\s*([^}]*?)\s*\}\}/g, (_, expr: string) => {
    const m = /^inputs\.([\w-]+)$/.exec(expr);
    if (!m) throw new Error(`action-runner: unsupported expression \${{ ${expr} }}`);
    return inputs[m[1]!] ?? '';
  });
}

/** KEY=VALUE lines (the runner's simple form) of a GITHUB_ENV / GITHUB_OUTPUT file. */
function keyValues(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

export async function runAction(o: {
  inputs: Record<string, string>;
  /** The job's environment (RNX_SERVER, RNX_TOKEN, npm settings…) over PATH and HOME. */
  env: NodeJS.ProcessEnv;
  /** A temp dir for RUNNER_TEMP and the runner's files. */
  tmp: string;
  /** The checked-out repository (GITHUB_WORKSPACE, the steps' working directory). */
  workspace: string;
}): Promise<ActionRun> {
  const action = readAction();
  const inputs = Object.fromEntries(
    Object.entries(action.inputs).map(([k, v]) => [k, o.inputs[k] ?? v.default ?? '']),
  );
  const runnerTemp = join(o.tmp, 'runner-temp');
  mkdirSync(runnerTemp, { recursive: true });
  const files = {
    GITHUB_ENV: join(o.tmp, 'github-env'),
    GITHUB_PATH: join(o.tmp, 'github-path'),
    GITHUB_STEP_SUMMARY: join(o.tmp, 'step-summary.md'),
  };
  for (const f of Object.values(files)) writeFileSync(f, '');
  const run: ActionRun = { steps: [], code: 0, outputs: {}, summary: '', stdout: '' };
  for (const [i, step] of action.runs.steps.entries()) {
    if (!step.run) continue;
    const output = join(o.tmp, `output-${i}`);
    writeFileSync(output, '');
    const script = join(o.tmp, `step-${i}.sh`);
    writeFileSync(script, step.run);
    const paths = readFileSync(files.GITHUB_PATH, 'utf8').split('\n').filter(Boolean).reverse();
    const env: NodeJS.ProcessEnv = {
      ...o.env,
      ...keyValues(files.GITHUB_ENV),
      PATH: [...paths, o.env.PATH ?? process.env.PATH].join(':'),
      RUNNER_TEMP: runnerTemp,
      GITHUB_ACTION_PATH: ACTION_DIR,
      GITHUB_WORKSPACE: o.workspace,
      GITHUB_RUN_ID: '1',
      ...files,
      GITHUB_OUTPUT: output,
      ...Object.fromEntries(
        Object.entries(step.env ?? {}).map(([k, v]) => [k, expand(String(v), inputs)]),
      ),
    };
    const r = await exec('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], {
      cwd: o.workspace,
      env,
      maxBuffer: 64 * 1024 * 1024,
      timeout: 1_200_000,
    }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (e: Error & { code?: number; stdout?: string; stderr?: string }) => ({
        code: typeof e.code === 'number' ? e.code : 1,
        stdout: e.stdout ?? '',
        stderr: e.stderr ?? e.message,
      }),
    );
    const name = step.name ?? `step ${i}`;
    run.steps.push({ name, ...r });
    run.stdout += r.stdout;
    if (step.id) run.outputs[step.id] = keyValues(output);
    if (r.code !== 0) {
      run.code = r.code;
      break;
    }
  }
  run.summary = readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8');
  return run;
}
