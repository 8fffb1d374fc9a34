/**
 * infra/ci/github-actions.yml: parses, runs the right thing on the right event, fails the job
 * when rnx fails, and uses only rnx commands and flags that exist (read from the CLI's commands/).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO } from './repo.js';

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  'continue-on-error'?: boolean;
}
interface Workflow {
  on: Record<string, { branches?: string[]; paths?: string[] } | null>;
  env: Record<string, string>;
  jobs: Record<string, { if?: string; steps: Step[]; 'continue-on-error'?: boolean }>;
}

const workflow = parse(readFileSync(join(REPO, 'infra/ci/github-actions.yml'), 'utf8')) as Workflow;

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

/** Every `rnx <group> <command> [args and --flags]` invocation in the workflow's run steps. */
function rnxInvocations(): { command: string; flags: string[]; line: string }[] {
  const runs = Object.values(workflow.jobs).flatMap((j) => j.steps.map((s) => s.run ?? ''));
  const lines = runs.flatMap((r) => r.split('\n')).filter((l) => /^\s*rnx\s/.test(l));
  return lines.map((line) => {
    const words = line.trim().split(/\s+/);
    return {
      command: `${words[1]} ${words[2]}`,
      flags: words.filter((w) => w.startsWith('--')),
      line,
    };
  });
}

describe('infra/ci/github-actions.yml', () => {
  it('validates on pull requests and builds on pushes to main', () => {
    expect(workflow.on).toHaveProperty('pull_request');
    expect(workflow.on.push?.branches).toEqual(['main']);
    const validate = workflow.jobs.validate!;
    const build = workflow.jobs.build!;
    expect(validate.if).toBe("github.event_name == 'pull_request'");
    expect(build.if).toBe("github.event_name != 'pull_request'");
    const runs = (j: { steps: Step[] }) => j.steps.map((s) => s.run ?? '').join('\n');
    expect(runs(validate)).toMatch(/^rnx runtime validate /m);
    expect(runs(validate)).not.toMatch(/rnx runtime build/);
    expect(runs(build)).toMatch(/^rnx runtime build .*--arch amd64,arm64 .*--wait-deploy/m);
  });

  it('takes the server and a scoped token from repository secrets', () => {
    expect(workflow.env.RNX_SERVER).toBe('${{ secrets.RNX_SERVER }}');
    expect(workflow.env.RNX_TOKEN).toBe('${{ secrets.RNX_TOKEN }}');
  });

  it('lets a failing rnx fail the pipeline', () => {
    for (const [name, job] of Object.entries(workflow.jobs)) {
      expect(job['continue-on-error'], name).toBeUndefined();
      for (const step of job.steps) {
        expect(step['continue-on-error'], step.name).toBeUndefined();
        expect(step.run ?? '', step.name).not.toMatch(/\|\|\s*true|;\s*true\b|set \+e/);
      }
    }
  });

  it('uses only rnx commands and flags that exist', () => {
    const known = rnxCommands();
    expect(known.get('runtime build')).toContain('--wait-deploy'); // the parser itself works
    const calls = rnxInvocations();
    expect(calls.length).toBeGreaterThanOrEqual(3);
    for (const call of calls) {
      expect([...known.keys()], call.line).toContain(call.command);
      for (const flag of call.flags) expect(known.get(call.command), call.line).toContain(flag);
    }
  });
});
