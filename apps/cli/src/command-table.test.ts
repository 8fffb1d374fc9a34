/**
 * `rnx` loads only the command modules a command line names: the table that says which module
 * defines which command must match the modules, every command must still be reachable, and the
 * help must still list every group and every command (through the real binary).
 */
import { describe, expect, it } from 'vitest';
import { selectModules } from './command-select.js';
import { COMMAND_PATHS, COMMAND_TABLE } from './command-table.js';
import { runRnx } from './test-support/rnx-binary.js';

const loadedPaths = (argv: string) =>
  selectModules(argv.split(' ').filter(Boolean), COMMAND_TABLE).flatMap((m) => m.paths);

describe('the command table', () => {
  it('names exactly the commands each module defines, in its order', async () => {
    for (const m of COMMAND_TABLE) {
      const { commands } = await m.load();
      expect(commands.map((c) => c.path)).toEqual(m.paths);
    }
    expect(new Set(COMMAND_PATHS).size).toBe(COMMAND_PATHS.length);
  });
});

describe('the modules a command line loads', () => {
  it.each([
    ['--version', []],
    ['--help', []],
    ['', []],
    ['nosuch run', []],
    ['job run --runtime=py echo job list', ['job run', 'job log', 'job stop', 'job cancel']],
    ['--server http://h:1 --json job list', ['job list', 'job status']],
    ['node list', ['runtime list', 'runtime info', 'node list']],
    ['admin certs init --dir d', ['admin certs init']],
    ['admin --help', ['admin certs init', 'admin signing-key init']],
    // Shell completion is made from the whole tree.
    ['completion bash', COMMAND_PATHS],
  ])('%j loads %j', (argv, paths) => {
    expect(loadedPaths(argv)).toEqual(paths);
  });

  it('loads every module of a group for its help, also as `help <group>`', () => {
    const runtime = COMMAND_PATHS.filter((p) => p.startsWith('runtime '));
    expect(loadedPaths('runtime --help').filter((p) => p.startsWith('runtime '))).toEqual(runtime);
    expect(loadedPaths('help runtime').filter((p) => p.startsWith('runtime '))).toEqual(runtime);
  });
});

describe('rnx help', () => {
  it('lists every group at the top and every command (but hidden ones) in its group', async () => {
    const top = await runRnx(['--help'], {});
    expect(top.code).toBe(0);
    const groups = [...new Set(COMMAND_PATHS.map((p) => p.split(' ')[0]!))];
    const defs = (await Promise.all(COMMAND_TABLE.map((m) => m.load()))).flatMap((m) => m.commands);
    const shown = defs.filter((d) => !d.hidden).map((d) => d.path);
    for (const g of groups) expect(top.stdout).toMatch(new RegExp(`^  ${g} `, 'm'));

    for (const g of groups) {
      const help = await runRnx([g, '--help'], {});
      expect(help.code).toBe(0);
      for (const path of shown.filter((p) => p.startsWith(`${g} `))) {
        // `admin certs init` shows as `certs` in `admin --help`: the next word after the group.
        const word = path.split(' ')[1]!;
        expect(help.stdout, `${g} --help lists ${path}`).toMatch(new RegExp(`^  ${word}\\b`, 'm'));
      }
    }
  });

  it('prints the version and the help of one command without loading the others', async () => {
    expect((await runRnx(['--version'], {})).stdout.trim()).toBe('0.1.0');
    const run = await runRnx(['job', 'run', '--help'], {});
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: rnx job run [options] <command> [args...]');
    const unknown = await runRnx(['jb', 'list'], {});
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'jb'");
  });
});
