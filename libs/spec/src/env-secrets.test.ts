import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { secretFromEnv, secretsFromEnv } from './env-secrets.js';

describe('secretFromEnv', () => {
  const dir = mkdtempSync(join(tmpdir(), 'env-secrets-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string | Buffer) => {
    const p = join(dir, name);
    writeFileSync(p, text, { mode: 0o600 });
    return p;
  };

  it('reads NAME, or the file NAME_FILE names (trailing line breaks removed)', () => {
    expect(secretFromEnv({ PW: 'inline' }, 'PW')).toEqual({ value: 'inline', issues: [] });
    expect(secretFromEnv({ PW_FILE: file('a', 'in a file\r\n\n') }, 'PW')).toEqual({
      value: 'in a file',
      issues: [],
    });
    // Inner line breaks and spaces are part of the secret.
    expect(secretFromEnv({ PW_FILE: file('b', ' two\nlines ') }, 'PW').value).toBe(' two\nlines ');
  });

  it('treats unset and empty alike', () => {
    expect(secretFromEnv({}, 'PW')).toEqual({ issues: [] });
    expect(secretFromEnv({ PW: '', PW_FILE: '' }, 'PW')).toEqual({ issues: [] });
  });

  it('refuses both, an unreadable, empty or huge file — naming the variable, never the value', () => {
    const both = secretFromEnv({ PW: 'hunter2', PW_FILE: file('c', 'x') }, 'PW');
    expect(both).toEqual({
      issues: [{ path: 'PW_FILE', message: 'set PW or PW_FILE, not both' }],
    });
    const missing = join(dir, 'missing');
    expect(secretFromEnv({ PW_FILE: missing }, 'PW').issues).toEqual([
      { path: 'PW_FILE', message: `cannot read ${missing} (ENOENT)` },
    ]);
    expect(secretFromEnv({ PW_FILE: dir }, 'PW').issues[0]!.message).toBe(
      `cannot read ${dir} (EISDIR)`,
    );
    const empty = file('d', '\n');
    expect(secretFromEnv({ PW_FILE: empty }, 'PW').issues[0]!.message).toBe(`${empty} is empty`);
    const huge = file('e', Buffer.alloc(65 * 1024, 'a'));
    expect(secretFromEnv({ PW_FILE: huge }, 'PW').issues[0]!.message).toBe(
      `${huge} is larger than 64 KiB`,
    );
    expect(JSON.stringify(both)).not.toContain('hunter2');
  });

  it('reads several at once, from a parsed environment too', () => {
    const r = secretsFromEnv({ A: 'a', B_FILE: file('f', 'b\n'), PORT: 7070 }, ['A', 'B', 'C']);
    expect(r).toEqual({ values: { A: 'a', B: 'b' }, issues: [] });
    expect(secretsFromEnv({ A: 'a', A_FILE: file('g', 'x') }, ['A']).issues).toHaveLength(1);
  });
});
