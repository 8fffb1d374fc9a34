import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, type TempDir } from '@joblet/testkit';
import { allowedCpus } from './cpus.js';

describe('allowedCpus', () => {
  let tmp: TempDir;
  beforeAll(async () => {
    tmp = await makeTempDir('cpus-');
  });
  afterAll(() => tmp.cleanup());

  it('reads Cpus_allowed_list as a CPU list', async () => {
    const f = join(tmp.path, 'status');
    await writeFile(f, 'Name:\tnode\nCpus_allowed:\t3\nCpus_allowed_list:\t0,1,2,5-6\n');
    expect(await allowedCpus(f)).toBe('0-2,5-6');
  });

  it('is undefined when the line is missing', async () => {
    const f = join(tmp.path, 'status-none');
    await writeFile(f, 'Name:\tnode\n');
    expect(await allowedCpus(f)).toBeUndefined();
  });

  it('reads this process’s own CPUs', async () => {
    expect(await allowedCpus()).toMatch(/^\d+(-\d+)?(,\d+(-\d+)?)*$/);
  });
});
