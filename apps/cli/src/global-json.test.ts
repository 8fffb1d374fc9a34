/** `rnx --json <command>` as Joblet takes it: the flag lands after the command's words. */
import { describe, expect, it } from 'vitest';
import { moveLeadingJson } from './global-json.js';
import { COMMAND_PATHS } from './command-table.js';

const move = (line: string) => moveLeadingJson(line.split(' '), COMMAND_PATHS).join(' ');

describe('a leading --json', () => {
  it.each([
    ['--json job list', 'job list --json'],
    ['--server http://h:1 --json runtime info py', '--server http://h:1 runtime info --json py'],
    ['--json job run --runtime=py echo hi --json', 'job run --json --runtime=py echo hi --json'],
    ['--json admin certs init --dir d', 'admin certs init --json --dir d'],
    ['job list --json', 'job list --json'],
    ['--json nosuch', '--json nosuch'],
  ])('%s → %s', (from, to) => {
    expect(move(from)).toBe(to);
  });
});
