/**
 * Every `rnx` command line of the guide users read first (docs/joblet-runtime-system-guide.md,
 * Joblet's Runtime System Guide) is one `rnx` accepts as written: each runs through bash — with
 * the guide's own files beside it (its runtime.yaml, the examples, the scripts it uploads) — and
 * must get past flag parsing and file reading to the server, which here answers nothing (exit 3,
 * "could not be reached"). A usage error (exit 2: an unknown flag, a missing file) fails the test.
 * Placeholders (`<runtime-name>`…) are filled in with real values (guide-lines.ts). Running every
 * line against a real farm, top to bottom, is guide-walk.e2e.test.ts.
 */
import { execFile } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, type TempDir } from '@joblet/testkit';
import { RNX } from './farm-fixture.js';
import { GUIDE, REPO, guideCommands, guideSpec } from './guide-lines.js';

const exec = promisify(execFile);

describe("the guide's rnx command lines", () => {
  let tmp: TempDir;
  const commands = guideCommands(GUIDE);

  beforeAll(async () => {
    tmp = await makeTempDir('guide-');
    await writeFile(join(tmp.path, 'runtime.yaml'), guideSpec(GUIDE));
    await symlink(join(REPO, 'examples'), join(tmp.path, 'examples'));
    // The files the guide uploads.
    for (const f of ['analysis.py', 'script.py', 'experiment.py', 'test.py'])
      await writeFile(join(tmp.path, f), 'print("ok")\n');
    await writeFile(join(tmp.path, 'HelloWorld.java'), 'class HelloWorld {}\n');
    await writeFile(join(tmp.path, 'App.java'), 'class App {}\n');
    await mkdir(join(tmp.path, 'bin'));
    await writeFile(
      join(tmp.path, 'bin', 'rnx'),
      `#!/bin/sh\nexec "${process.execPath}" "${RNX}" "$@"\n`,
      {
        mode: 0o755,
      },
    );
  });
  afterAll(() => tmp?.cleanup());

  it('finds every command line of the guide', () => {
    expect(commands.length).toBeGreaterThan(50);
    for (const verb of [
      'runtime build',
      'runtime info',
      'job run',
      'volume create',
      'runtime test',
    ])
      expect(commands.some((c) => c.includes(`rnx ${verb}`))).toBe(true);
  });

  it('parses each one as written and reads its files; only the absent server stops it', async () => {
    const refused: string[] = [];
    for (const command of new Set(commands)) {
      const r = await exec('/bin/bash', ['-c', command], {
        cwd: tmp.path,
        env: {
          PATH: `${join(tmp.path, 'bin')}:${process.env.PATH}`,
          HOME: tmp.path,
          NO_COLOR: '1',
          // Nothing listens on the discard port; the guide's `$host` loop names hosts that
          // do not resolve.
          RNX_SERVER: 'http://127.0.0.1:9',
          host: 'joblet-01.invalid',
        },
        timeout: 60_000,
      }).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code?: number; stderr?: string }) => ({ code: e.code ?? -1, stderr: e.stderr ?? '' }),
      );
      if (r.code !== 3) refused.push(`${command}\n  → exit ${r.code}: ${r.stderr.trim()}`);
    }
    expect(refused).toEqual([]);
  }, 600_000);
});
