/**
 * `rnx completion bash|zsh|fish`, made from the command table: the bash script is sourced in a
 * real bash, which registers it for `rnx`; its function, called as bash's completion calls it
 * (COMP_WORDS, COMP_CWORD), offers every group and every command (hidden ones not), a command's
 * options after `-`, an option's fixed values, and nothing (file names) for a command's arguments.
 * The zsh script is loaded in a real zsh and the fish one in a real fish (`complete -C`).
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, type TempDir } from '@joblet/testkit';
import { COMMAND_PATHS } from './command-table.js';
import { runRnx } from './test-support/rnx-binary.js';

const exec = promisify(execFile);
let tmp: TempDir;
let script: string;

beforeAll(async () => {
  tmp = await makeTempDir('rnx-completion-');
  const r = await runRnx(['completion', 'bash'], { HOME: tmp.path });
  expect(r.code, r.stderr).toBe(0);
  script = join(tmp.path, 'rnx.bash');
  await writeFile(script, r.stdout);
});
afterAll(() => tmp?.cleanup());

/** What bash's completion offers for `line` (the word being completed is its last, maybe ''). */
async function complete(line: string): Promise<string[]> {
  const words = line.split(' ');
  const program = [
    'set -u',
    `source ${JSON.stringify(script)}`,
    `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')})`,
    `COMP_CWORD=${words.length - 1}`,
    '_rnx',
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join('\n');
  const { stdout } = await exec('bash', ['--norc', '--noprofile', '-c', program]);
  return stdout.split('\n').filter(Boolean);
}

describe('rnx completion bash', () => {
  it('sources in bash and registers a completion for rnx', async () => {
    const { stdout } = await exec('bash', ['--norc', '-c', `source ${script} && complete -p rnx`]);
    expect(stdout.trim()).toBe('complete -o default -F _rnx rnx');
  });

  it('offers every group, then every command of each group (not hidden ones)', async () => {
    const groups = [...new Set(COMMAND_PATHS.map((p) => p.split(' ')[0]!))];
    expect(await complete('rnx ')).toEqual(groups);
    for (const path of COMMAND_PATHS.filter((p) => p !== 'farm supervise')) {
      const words = path.split(' ');
      const offered = await complete(['rnx', ...words.slice(0, -1), ''].join(' '));
      expect(offered, path).toContain(words.at(-1));
    }
    expect(await complete('rnx farm ')).not.toContain('supervise');
  });

  it('completes a prefix, options after -, fixed values, and nothing for arguments', async () => {
    expect(await complete('rnx runtime b')).toEqual(['build']);
    expect(await complete('rnx --server http://h:1 job l')).toEqual(['log', 'list']);
    expect(await complete('rnx runtime build --ar')).toEqual(['--arch']);
    expect(await complete('rnx runtime list -o ')).toEqual(['json', 'yaml', 'wide']);
    expect(await complete('rnx runtime validate --format g')).toEqual(['github']);
    expect(await complete('rnx admin certs ')).toEqual(['init']);
    // A command's arguments and free values: file names, from bash itself (-o default).
    expect(await complete('rnx job run --runtime=py ')).toEqual([]);
    expect(await complete('rnx job run --node ')).toEqual([]);
  });
});

/** Runs `script` in `shell` with a bare environment; its stdout. */
async function shell(cmd: string, args: string[]): Promise<string> {
  const { stdout } = await exec(cmd, args, { env: { PATH: process.env.PATH, HOME: tmp.path } });
  return stdout;
}

describe('rnx completion zsh', () => {
  it('loads in zsh, registers rnx, and offers commands and an option’s values', async () => {
    const r = await runRnx(['completion', 'zsh'], { HOME: tmp.path });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^#compdef rnx\n/);
    const file = join(tmp.path, 'rnx.zsh');
    await writeFile(file, r.stdout);
    await shell('zsh', ['-n', file]);
    // As zsh's bashcompinit calls the function: COMP_WORDS and COMP_CWORD, in sh emulation.
    const out = await shell('zsh', [
      '-f',
      '-c',
      [
        `source ${file}`,
        'print -r -- "registered: $_comps[rnx]"',
        'COMP_WORDS=(rnx runtime ""); COMP_CWORD=2; emulate sh -c _rnx; print -r -- "runtime: $COMPREPLY"',
        'COMP_WORDS=(rnx job list -o ""); COMP_CWORD=4; emulate sh -c _rnx; print -r -- "-o: $COMPREPLY"',
      ].join('\n'),
    ]);
    expect(out).toContain('registered: _bash_complete -o default -F _rnx');
    expect(out).toContain(
      'runtime: validate build list info sbom provenance test remove pin unpin gc',
    );
    expect(out).toContain('-o: json yaml wide');
  });
});

describe('rnx completion fish', () => {
  it('loads in fish, which offers every command, options and an option’s values', async () => {
    const r = await runRnx(['completion', 'fish'], { HOME: tmp.path });
    expect(r.code).toBe(0);
    const file = join(tmp.path, 'rnx.fish');
    await writeFile(file, r.stdout);
    const complete = async (line: string) =>
      (
        await shell('fish', [
          '--no-config',
          '-c',
          `source ${file}; complete -C ${JSON.stringify(line)}`,
        ])
      )
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t')[0]!);
    const groups = [...new Set(COMMAND_PATHS.map((p) => p.split(' ')[0]!))];
    expect((await complete('rnx ')).sort()).toEqual([...groups].sort());
    expect(await complete('rnx runtime b')).toEqual(['build']);
    expect(await complete('rnx admin certs ')).toEqual(['init']);
    expect(await complete('rnx runtime build --ar')).toEqual(['--arch']);
    expect((await complete('rnx token list -o ')).sort()).toEqual(['json', 'wide', 'yaml']);
    expect(await complete('rnx farm ')).not.toContain('supervise');
  });
});
