import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { makeTempDir, uniqueName } from './temp-dir.js';

describe('makeTempDir', () => {
  it('creates a fresh directory under os.tmpdir() and removes it with its contents', async () => {
    const a = await makeTempDir('My Test/dir');
    const b = await makeTempDir('My Test/dir');
    expect(a.path).not.toBe(b.path);
    expect(a.path.startsWith(join(tmpdir(), 'my-test-dir-'))).toBe(true);
    await writeFile(join(a.path, 'f'), 'x');
    await a.cleanup();
    await a.cleanup();
    expect(existsSync(a.path)).toBe(false);
    await b.cleanup();
  });
});

describe('uniqueName', () => {
  it('gives distinct names that are valid S3 bucket names', () => {
    const names = new Set(Array.from({ length: 1000 }, () => uniqueName('Build_Bucket')));
    expect(names.size).toBe(1000);
    for (const name of names) expect(name).toMatch(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/);
    expect(uniqueName('x'.repeat(100)).length).toBeLessThanOrEqual(63);
    expect(uniqueName('---')).toMatch(/^t-/);
  });
});
