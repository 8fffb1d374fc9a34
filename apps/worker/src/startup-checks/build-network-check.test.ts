import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { hasCommand, isRoot } from '@joblet/sandbox';
import { makeTempDir, type TempDir } from '@joblet/testkit';
import {
  BuildNetworkUnavailableError,
  checkBuildNetwork,
  isLoopbackUrl,
} from './build-network-check.js';

const base = {
  // Probed as builds run: rootless (root:100000:65536 in /etc/subuid and /etc/subgid).
  buildSubids: { first: 100000, count: 65536 },
  buildNetwork: 'isolated',
  arch: 'amd64',
  aptMirror: 'http://deb.debian.org/debian',
  pipIndexUrl: undefined,
  npmRegistry: undefined,
} as const;
const noSlirp = { slirpPath: '/nonexistent/slirp4netns' };
const temps: TempDir[] = [];
afterAll(async () => {
  for (const t of temps) await t.cleanup();
});

describe('checkBuildNetwork', () => {
  it('refuses isolated builds without slirp4netns, naming the package and the way out', async () => {
    const p = checkBuildNetwork(base, { warn: vi.fn() }, noSlirp);
    await expect(p).rejects.toBeInstanceOf(BuildNetworkUnavailableError);
    await expect(p).rejects.toThrow(/apt-get install slirp4netns.*WORKER_BUILD_NETWORK=host/);
  });

  it("refuses package sources on the host's loopback, which isolated builds cannot reach", async () => {
    const c = { ...base, pipIndexUrl: 'http://127.0.0.1:3141/simple/' };
    await expect(checkBuildNetwork(c, { warn: vi.fn() }, noSlirp)).rejects.toThrow(
      /BUILD_PIP_INDEX_URL=http:\/\/127\.0\.0\.1:3141\/simple\/: isolated builds .* non-loopback/,
    );
    // The host's own apt sources count when BUILD_APT_MIRROR is unset (an apt proxy on lo).
    const t = await makeTempDir('netcheck');
    temps.push(t);
    mkdirSync(join(t.path, 'etc/apt'), { recursive: true });
    writeFileSync(
      join(t.path, 'etc/apt/sources.list'),
      'deb http://localhost:3142/debian bookworm main\n',
    );
    await expect(
      checkBuildNetwork(
        { ...base, aptMirror: undefined },
        { warn: vi.fn() },
        {
          ...noSlirp,
          aptRoot: t.path,
        },
      ),
    ).rejects.toThrow(/the host's apt mirror \(BUILD_APT_MIRROR unset\)=http:\/\/localhost:3142/);
  });

  it('allows host networking (and loopback sources) with a warning', async () => {
    const log = { warn: vi.fn() };
    const c = { ...base, buildNetwork: 'host', pipIndexUrl: 'http://127.0.0.1:1/simple/' } as const;
    await checkBuildNetwork(c, log, noSlirp);
    expect(log.warn).toHaveBeenCalledWith(
      expect.stringMatching(/WORKER_BUILD_NETWORK=host.*Redis/),
    );
  });

  it('refuses isolated builds whose names cannot resolve, unless WORKER_BUILD_DNS names servers', async () => {
    const tmp = await makeTempDir('dns-check');
    temps.push(tmp);
    const resolvConf = join(tmp.path, 'resolv.conf');
    writeFileSync(resolvConf, 'nameserver 127.0.0.11\n'); // Docker's embedded resolver
    const files = { resolvConf, resolvedUpstream: join(tmp.path, 'none') };
    const p = checkBuildNetwork(base, { warn: vi.fn() }, { ...noSlirp, ...files });
    await expect(p).rejects.toBeInstanceOf(BuildNetworkUnavailableError);
    await expect(p).rejects.toThrow(
      /could not resolve names: this host's nameserver \(127\.0\.0\.11\) is on its loopback.*Set WORKER_BUILD_DNS/,
    );
    // With servers named, the check goes on (here to the missing slirp4netns).
    const named = checkBuildNetwork(
      { ...base, buildDns: ['10.1.1.1'] },
      { warn: vi.fn() },
      { ...noSlirp, ...files },
    );
    await expect(named).rejects.toThrow(/apt-get install slirp4netns/);
  });

  it('tells loopback URLs from others', () => {
    for (const u of [
      'http://127.0.0.1:1/',
      'http://localhost/',
      'http://[::1]:80/',
      'http://127.1.2.3/',
    ]) {
      expect(isLoopbackUrl(u)).toBe(true);
    }
    for (const u of ['http://192.0.2.2:1/', 'https://pypi.org/simple/', 'not a url']) {
      expect(isLoopbackUrl(u)).toBe(false);
    }
  });

  it.skipIf(!isRoot() || !hasCommand('bwrap') || !hasCommand('slirp4netns'))(
    'passes where bwrap and slirp4netns work, allowing each package source at its port',
    async () => {
      const sources = {
        ...base,
        aptMirror: 'http://127.0.0.2.nip.invalid:3142/debian',
        pipIndexUrl: 'http://10.20.30.40:3141/simple',
        npmRegistry: 'https://[fd00::7]/',
      };
      // A source that does not resolve is refused, naming it.
      await expect(checkBuildNetwork(sources, { warn: vi.fn() })).rejects.toThrow(
        /BUILD_APT_MIRROR=.*cannot resolve/,
      );
      const allows = await checkBuildNetwork(
        { ...sources, aptMirror: 'http://192.168.7.8/debian' },
        { warn: vi.fn() },
      );
      expect(allows).toEqual([
        { net: '192.168.7.8', family: 4, port: 80 },
        { net: '10.20.30.40', family: 4, port: 3141 },
        { net: 'fd00::7', family: 6, port: 443 },
      ]);
    },
  );
});
