import { describe, expect, it } from 'vitest';
import { mirroredUrl, parseToolchainMirrors } from './toolchain.js';

describe('toolchain mirrors (BUILD_TOOLCHAIN_MIRRORS)', () => {
  const pbs =
    'https://github.com/astral-sh/python-build-standalone/releases/download/20260814/cpython-3.12.14%2B20260814-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz';

  it('replaces the project upstream prefix by the mirror, as UV_PYTHON_INSTALL_MIRROR does', () => {
    const parsed = parseToolchainMirrors(
      'python-build-standalone=http://mirror.local/pbs/, go=https://m.example/go',
    );
    expect(parsed).toEqual({
      ok: true,
      mirrors: { 'python-build-standalone': 'http://mirror.local/pbs', go: 'https://m.example/go' },
    });
    const mirrors = parsed.ok ? parsed.mirrors : {};
    expect(mirroredUrl(pbs, 'python-build-standalone', mirrors)).toBe(
      'http://mirror.local/pbs/20260814/cpython-3.12.14%2B20260814-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz',
    );
    // Another project's files, and URLs outside the upstream prefix, are left alone.
    expect(mirroredUrl('https://go.dev/dl/go1.25.5.linux-amd64.tar.gz', 'go', {})).toBe(
      'https://go.dev/dl/go1.25.5.linux-amd64.tar.gz',
    );
    expect(mirroredUrl('http://10.0.0.5/x.tar.gz', 'python-build-standalone', mirrors)).toBe(
      'http://10.0.0.5/x.tar.gz',
    );
  });

  it.each([
    ['pythn=http://m', 'is not project=URL'],
    ['go=ftp://m', '"ftp://m" (for go) is not an http(s) URL'],
    ['=http://m', 'is not project=URL'],
  ])('refuses %s naming the problem', (value, message) => {
    const r = parseToolchainMirrors(value);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toContain(message);
  });
});
