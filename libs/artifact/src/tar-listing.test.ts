import { describe, expect, it } from 'vitest';
import { ListingChecker, decodeCString, parseListingLine } from './tar-listing.js';

const D = '0/0               0 1970-01-01 00:00:00';

function verdict(
  lines: string[],
  policy: 'contained' | 'rooted' = 'contained',
  normalised = true,
): string | undefined {
  const c = new ListingChecker({ symlinks: policy, normalised });
  for (const l of lines) c.addLine(l);
  return c.violation ? `${c.violation.entry}: ${c.violation.reason}` : undefined;
}

describe('decodeCString', () => {
  it('decodes C escapes and octal bytes', () => {
    const { bytes, end } = decodeCString('x "a\\nb\\\\c\\"d\\303\\251\\?" tail', 2);
    expect(bytes.toString('utf8')).toBe('a\nb\\c"dé?');
    expect(end).toBe(24);
  });
  it('rejects an unterminated string', () => {
    expect(() => decodeCString('"abc', 0)).toThrow(/unterminated/);
  });
});

describe('parseListingLine', () => {
  it('parses files, symlinks and hard links, with arrows inside names', () => {
    expect(parseListingLine(`-rw-r--r-- ${D} "we ird -> x"`)).toMatchObject({
      typeChar: '-',
      name: Buffer.from('we ird -> x'),
      uid: 0,
      gid: 0,
    });
    expect(parseListingLine(`-rw-r--r-- 1000/33 5 1970-01-01 00:00:00 "f"`)).toMatchObject({
      uid: 1000,
      gid: 33,
    });
    const l = parseListingLine(`lrwxrwxrwx ${D} "a -> b" -> "c \\"d\\""`);
    expect(l.name.toString()).toBe('a -> b');
    expect(l.linkTarget?.toString()).toBe('c "d"');
    const h = parseListingLine(`hrw-r--r-- ${D} "x" link to "y link to z"`);
    expect(h.linkTarget?.toString()).toBe('y link to z');
  });
  it('throws on lines it does not know', () => {
    expect(() => parseListingLine('--Volume Header-- 0 "x"')).toThrow();
    expect(() => parseListingLine(`-rw-r--r-- ${D} "x" garbage`)).toThrow();
  });
});

describe('ListingChecker', () => {
  it('accepts an ordinary tree', () => {
    expect(
      verdict([
        `drwxr-xr-x ${D} "./"`,
        `drwxr-xr-x ${D} "usr/"`,
        `-rwxr-xr-x ${D} "usr/python3.11"`,
        `lrwxrwxrwx ${D} "usr/python3" -> "python3.11"`,
        `hrwxr-xr-x ${D} "usr/py" link to "usr/python3.11"`,
        `drwxr-xr-x ${D} "tmp/"`,
        `drwxr-xr-t ${D} "sticky-but-not-writable/"`,
      ]),
    ).toBeUndefined();
  });

  it('refuses what a normalised runtime tree cannot hold, naming the first such member', () => {
    const ww = [`drwxr-xr-x ${D} "usr/"`, `-rw-rw-rw- ${D} "usr/libx.so"`];
    expect(verdict(ww)).toBe('usr/libx.so: is writable by others (-rw-rw-rw-)');
    expect(verdict([`drwxrwxrwt ${D} "tmp/"`])).toBe('tmp/: is writable by others (drwxrwxrwt)');
    expect(verdict([`drwxrwxrwx ${D} "shared/"`])).toMatch(/^shared\/: is writable by others/);
    const owned = `-rw-r--r-- ${D.replace('0/0', '1000/1000')} "usr/owned"`;
    expect(verdict([owned])).toBe('usr/owned: is owned by 1000:1000, not root (0:0)');
    expect(verdict([`-rw-r--r-- ${D.replace('0/0', '0/50')} "g"`])).toMatch(/owned by 0:50/);
    expect(verdict([`-rw-r--r-- ${D.replace('0/0', 'root/root')} "named"`])).toBe(
      'named: has no numeric owner in the listing',
    );
    // Without the rule (base roots): accepted as before.
    expect(verdict([...ww, `drwxrwxrwt ${D} "tmp/"`, owned], 'contained', false)).toBeUndefined();
  });

  it.each([
    [`-rw-r--r-- ${D} "/etc/passwd"`, '/etc/passwd: has an absolute path'],
    [`-rw-r--r-- ${D} "../evil"`, "../evil: has a '..' component"],
    [`-rw-r--r-- ${D} "a/b/../../../evil"`, "a/b/../../../evil: has a '..' component"],
    [`crw-r--r-- ${D.replace('0 1970', '1,3 1970')} "dev/null"`, 'dev/null: is a character device'],
    [`brw-r--r-- ${D} "sda"`, 'sda: is a block device'],
    [`prw-r--r-- ${D} "fifo"`, 'fifo: is a FIFO'],
    [`-rwsr-xr-x ${D} "su"`, 'su: has the setuid bit'],
    [`-rwxr-sr-x ${D} "sg"`, 'sg: has the setgid bit'],
    [`lrwxrwxrwx ${D} "etc" -> "/etc"`, 'etc: is a symlink to an absolute path'],
    [`lrwxrwxrwx ${D} "a/up" -> "../../x"`, 'a/up: is a symlink that escapes the tree'],
    [`hrw-r--r-- ${D} "pw" link to "/etc/passwd"`, 'pw: is a hard link to an absolute path'],
    [`hrw-r--r-- ${D} "pw" link to "../x"`, "pw: is a hard link with a '..' component"],
    [
      `hrw-r--r-- ${D} "pw" link to "nothing"`,
      "pw: is a hard link to 'nothing', not an earlier regular file",
    ],
  ])('refuses %s', (line, why) => {
    expect(verdict([line])).toBe(why);
  });

  it('refuses members placed through a symlink or below a file', () => {
    expect(verdict([`lrwxrwxrwx ${D} "lnk" -> "sub"`, `-rw-r--r-- ${D} "lnk/f"`])).toBe(
      "lnk/f: is placed through the symlink 'lnk'",
    );
    expect(verdict([`-rw-r--r-- ${D} "f"`, `-rw-r--r-- ${D} "f/g"`])).toBe(
      "f/g: is placed below the non-directory 'f'",
    );
  });

  it('refuses duplicates and a directory replaced by a link', () => {
    expect(verdict([`-rw-r--r-- ${D} "f"`, `-rw-r--r-- ${D} "./f"`])).toBe(
      './f: appears twice in the archive',
    );
    expect(verdict([`-rw-r--r-- ${D} "d/f"`, `lrwxrwxrwx ${D} "d" -> "."`])).toBe(
      'd: replaces a directory',
    );
  });

  it('allows absolute symlink targets only under the rooted policy', () => {
    const lines = [`lrwxrwxrwx ${D} "usr/bin/awk" -> "/etc/alternatives/awk"`];
    expect(verdict(lines, 'contained')).toMatch(/absolute/);
    expect(verdict(lines, 'rooted')).toBeUndefined();
    expect(verdict([`lrwxrwxrwx ${D} "x" -> "/../../etc"`], 'rooted')).toMatch(/escapes/);
  });

  it('treats an unparseable line as a violation', () => {
    expect(verdict(['what is this'])).toMatch(/unrecognised listing line/);
  });
});
