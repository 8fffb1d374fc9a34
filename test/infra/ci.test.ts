/**
 * The CI example (infra/ci/github-actions.yml) and the action it uses (.github/actions/rnx):
 * the example validates on pull requests and builds on pushes through the action, never from a
 * clone of the farm; the action installs rnx from its package, passes every input to its scripts
 * as environment (no `${{ }}` in a script), and calls only rnx commands and flags that exist. Its
 * shell steps are run for real here (validate, against no farm: offline) from the packed package;
 * against a farm, building, in test/e2e/ci-action.e2e.test.ts.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { makeTempDir, type TempDir } from '@joblet/testkit';
import { readAction, runAction, type ActionStep } from './action-runner.js';
import { REPO } from './repo.js';
import { npmEnv, packRnx } from './rnx-package.js';

interface Workflow {
  on: Record<string, { branches?: string[]; paths?: string[] } | null>;
  env: Record<string, string>;
  jobs: Record<
    string,
    {
      if?: string;
      steps: (ActionStep & { 'continue-on-error'?: boolean })[];
      'continue-on-error'?: boolean;
    }
  >;
}

const workflow = parse(readFileSync(join(REPO, 'infra/ci/github-actions.yml'), 'utf8')) as Workflow;
const action = readAction();
const CLI_VERSION = (
  JSON.parse(readFileSync(join(REPO, 'apps/cli/package.json'), 'utf8')) as { version: string }
).version;

/** `rnx` commands and their long options, read from the command definitions in apps/cli/src/commands. */
function rnxCommands(): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const dir = join(REPO, 'apps/cli/src/commands');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))) {
    const src = readFileSync(join(dir, file), 'utf8');
    const defs = [...src.matchAll(/\bpath: '([a-z -]+)'/g)];
    defs.forEach((m, i) => {
      // A command's options are written between its path and the next command's.
      const body = src.slice(m.index, defs[i + 1]?.index ?? src.length);
      const flags = new Set([...body.matchAll(/'(?:-\w, )?(--[a-z-]+)/g)].map((f) => f[1]!));
      out.set(m[1]!, flags);
    });
  }
  return out;
}

/** The rnx invocations of the action's scripts: `rnx a b --flags`, and `args=(a b …)` arrays. */
function rnxInvocations(): { command: string; flags: string[]; line: string }[] {
  const lines = action.runs.steps.flatMap((s) => (s.run ?? '').split('\n'));
  const calls: { command: string; flags: string[]; line: string }[] = [];
  let current: { command: string; flags: string[]; line: string } | undefined;
  for (const line of lines) {
    const direct = /^\s*rnx ([a-z]+) ([a-z]+)(.*)$/.exec(line);
    const array = /^\s*args=\(([a-z]+) ([a-z]+)(.*)\)$/.exec(line);
    const m = direct ?? array;
    if (m) {
      current = { command: `${m[1]} ${m[2]}`, flags: [], line };
      calls.push(current);
    }
    const scan = m ? m[3]! : /args\+=\((.*)\)/.exec(line)?.[1];
    if (current && scan)
      current.flags.push(...[...scan.matchAll(/(--[a-z-]+)/g)].map((f) => f[1]!));
  }
  return calls;
}

const actionSteps = (job: string) =>
  workflow.jobs[job]!.steps.filter((s) => s.uses?.includes('/.github/actions/rnx@'));

describe('infra/ci/github-actions.yml', () => {
  it('validates on pull requests and builds on pushes to main, through the action', () => {
    expect(workflow.on).toHaveProperty('pull_request');
    expect(workflow.on.push?.branches).toEqual(['main']);
    expect(workflow.jobs.validate!.if).toBe("github.event_name == 'pull_request'");
    expect(workflow.jobs.build!.if).toBe("github.event_name != 'pull_request'");
    const [validate] = actionSteps('validate');
    const [build] = actionSteps('build');
    expect(validate?.with).toMatchObject({ command: 'validate', spec: 'runtime.yaml' });
    expect(build?.with).toMatchObject({
      command: 'build',
      arch: 'amd64,arm64',
      'wait-deploy': 'true',
    });
    for (const step of [validate!, build!]) {
      for (const key of Object.keys(step.with ?? {}))
        expect(Object.keys(action.inputs)).toContain(key);
      // The package of this CLI version, from npm: not a clone.
      expect(step.with?.package).toBe(`@joblet/cli@${CLI_VERSION}`);
    }
  });

  it('gets rnx from the package, never from a clone or a build of the farm', () => {
    const text = readFileSync(join(REPO, 'infra/ci/github-actions.yml'), 'utf8');
    expect(text).not.toMatch(/git clone|turbo run build|npm ci|apps\/cli\/bin/);
    const runs = Object.values(workflow.jobs).flatMap((j) => j.steps.map((s) => s.run ?? ''));
    expect(runs.join('\n')).not.toMatch(/\brnx\b/);
  });

  it('takes the server and a scoped token from repository secrets', () => {
    expect(workflow.env.RNX_SERVER).toBe('${{ secrets.RNX_SERVER }}');
    expect(workflow.env.RNX_TOKEN).toBe('${{ secrets.RNX_TOKEN }}');
  });

  it('lets a failing rnx fail the pipeline', () => {
    for (const [name, job] of Object.entries(workflow.jobs)) {
      expect(job['continue-on-error'], name).toBeUndefined();
      for (const step of job.steps) expect(step['continue-on-error'], step.name).toBeUndefined();
    }
    for (const step of action.runs.steps) {
      expect(step.run ?? '', step.name).not.toMatch(/\|\|\s*true|;\s*true\b|set \+e/);
    }
  });
});

describe('.github/actions/rnx', () => {
  it('is a composite action with the inputs a CI author sets, and outputs from the build', () => {
    expect(action.runs.using).toBe('composite');
    expect(Object.keys(action.inputs)).toEqual(
      expect.arrayContaining([
        'command',
        'spec',
        'arch',
        'wait-deploy',
        'deploy-timeout',
        'package',
      ]),
    );
    expect(action.inputs.command!.default).toBe('validate');
    expect(action.inputs.package!.default).toBe(`@joblet/cli@${CLI_VERSION}`);
    expect(Object.keys(action.outputs)).toEqual(['build-id', 'state', 'events']);
    for (const o of Object.values(action.outputs))
      expect(o.value).toMatch(/^\$\{\{ steps\.build\.outputs\.[\w-]+ \}\}$/);
  });

  it('installs rnx from the package with npm, and runs bash steps with inputs as environment only', () => {
    const install = action.runs.steps.find((s) => s.name === 'Install rnx')!;
    expect(install.run).toMatch(/npm install --global --prefix "\$prefix" .*"\$RNX_PACKAGE"/);
    expect(install.env).toEqual({ RNX_PACKAGE: '${{ inputs.package }}' });
    for (const step of action.runs.steps.filter((s) => s.run)) {
      expect(step.shell, step.name).toBe('bash');
      expect(step.run, step.name).not.toContain('${{');
      for (const v of Object.values(step.env ?? {})) {
        const m = /^\$\{\{ inputs\.([\w-]+) \}\}$/.exec(v);
        expect(m, `${step.name}: ${v}`).not.toBeNull();
        expect(Object.keys(action.inputs)).toContain(m![1]);
      }
    }
  });

  it('validates with annotations and builds with NDJSON progress, using only rnx commands and flags that exist', () => {
    const known = rnxCommands();
    expect(known.get('runtime build')).toContain('--progress'); // the parser itself works
    const calls = rnxInvocations();
    expect(calls.map((c) => c.command)).toEqual(['runtime validate', 'runtime build']);
    expect(calls[0]!.flags).toEqual(['--format']);
    expect(calls[0]!.line).toContain('--format github');
    expect(calls[1]!.flags).toEqual(
      expect.arrayContaining(['--progress', '--arch', '--wait-deploy', '--deploy-timeout']),
    );
    for (const call of calls) {
      for (const flag of call.flags) expect(known.get(call.command), call.line).toContain(flag);
    }
  });
});

describe('.github/actions/rnx run for real (validate, no farm)', () => {
  let tmp: TempDir;
  let tarball: string;
  beforeAll(async () => {
    tmp = await makeTempDir('ci-action-');
    ({ tarball } = await packRnx(tmp.path));
    await writeFile(
      join(tmp.path, 'runtime.yaml'),
      'schema_version: "1.0"\nname: Bad Name\nversion: 1.0.0\n',
    );
  }, 120_000);
  afterAll(() => tmp?.cleanup());

  /** The job's environment as GitHub gives it to a fork's pull request: empty secrets. */
  const jobEnv = () => ({
    ...npmEnv(tmp.path),
    npm_config_offline: 'true',
    HOME: tmp.path,
    RNX_SERVER: '',
    RNX_TOKEN: '',
  });

  it('installs rnx from the tarball and annotates a bad spec; exits 1', async () => {
    const run = await runAction({
      inputs: { command: 'validate', spec: 'runtime.yaml', package: tarball },
      env: jobEnv(),
      tmp: tmp.path,
      workspace: tmp.path,
    });
    expect(run.steps.map((s) => [s.name, s.code])).toEqual([
      ['Install rnx', 0],
      ["Trust the farm's CA", 0],
      ['Validate', 1],
    ]);
    expect(run.steps[0]!.stdout.trim().split('\n').at(-1)).toBe(CLI_VERSION);
    expect(run.steps[2]!.stdout).toMatch(/^::error file=runtime\.yaml,line=2,col=\d+,title=/m);
  });

  it('validates a good spec offline and skips the build; writes the CA for rnx', async () => {
    const example = join(REPO, 'examples/python-3.11');
    const run = await runAction({
      inputs: { command: 'validate', spec: example, package: tarball, 'ca-pem': 'PEM TEXT' },
      env: jobEnv(),
      tmp: tmp.path,
      workspace: tmp.path,
    });
    expect(run.code, run.steps.map((s) => s.stderr).join('\n')).toBe(0);
    expect(run.steps.map((s) => s.name)).toEqual([
      'Install rnx',
      "Trust the farm's CA",
      'Validate',
      'Build',
    ]);
    expect(run.steps[2]!.stdout).toContain('python-3.11/runtime.yaml: valid');
    expect(readFileSync(join(tmp.path, 'runner-temp/rnx-farm-ca.crt'), 'utf8')).toBe('PEM TEXT\n');
    expect(run.outputs.build).toEqual({});
  });

  it('refuses an unknown command, naming it', async () => {
    const run = await runAction({
      inputs: { command: 'deploy', package: tarball },
      env: jobEnv(),
      tmp: tmp.path,
      workspace: tmp.path,
    });
    expect(run.code).toBe(2);
    expect(run.stdout).toContain('command must be validate, build or install, not "deploy"');
  });
});
