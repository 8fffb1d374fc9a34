/**
 * A build tries to poison the shared download caches for the builds after it: its pre_install
 * hook (root of the build's user namespace, caches writable through their overlays) plants a .deb, an npm index entry and
 * content blob, and a pip cache file. The real worker shares what apt downloaded and the
 * signed package lists vouch for — the genuine .deb — and none of what was planted.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { logLines } from '../test-support/flow.js';
import {
  E2E_MISSING,
  doneEvent,
  pySpec,
  useWorkerFixture,
} from '../test-support/worker-fixture.js';

describe.skipIf(E2E_MISSING.length > 0)(
  `shared caches cannot be poisoned [requires ${E2E_MISSING.join(', ') || 'root, bwrap, slirp4netns'}]`,
  () => {
    const fx = useWorkerFixture('wkp');
    const marker = `joblet-planted-${process.pid}`;

    it("shares the genuine .deb apt fetched, not the hook's planted files", async () => {
      // The caches of the rootless builds' id range (caches.ts).
      const range = `u${fx.config.buildSubids.first}`;
      const shared = (name: string) => join(fx.config.cacheDir, name, `bookworm-amd64-${range}`);
      const archives = join(shared('apt'), 'archives');
      // A package no other test installs, absent from the shared cache before the build.
      for (const f of await readdir(archives).catch(() => [] as string[])) {
        if (/^hello_.*\.deb$/.test(f)) await rm(join(archives, f));
      }
      const badBlob = `_cacache/content-v2/sha512/00/11/${'2'.repeat(124)}`;
      const { b, events } = await fx.run(
        pySpec(
          `apt: [hello]
hooks:
  pre_install: |
    echo planted > /var/cache/apt/archives/${marker}_1.0_all.deb
    mkdir -p /root/.npm/_cacache/index-v5/ab/cd /root/.npm/$(dirname ${badBlob}) /root/.cache/pip
    echo planted > /root/.npm/_cacache/index-v5/ab/cd/${marker}
    echo planted > /root/.npm/${badBlob}
    echo planted > /root/.cache/pip/${marker}
`,
          '1.0.0',
          'cache-poison',
        ),
        { attempts: 1 },
      );
      expect(doneEvent(events), logLines(events).join('\n')).toEqual({
        type: 'done',
        state: 'succeeded',
      });
      const debs = (await readdir(archives)).filter((f) => f.endsWith('.deb'));
      expect(debs.some((f) => f.startsWith(marker))).toBe(false);
      const hello = debs.find((f) => /^hello_.*\.deb$/.test(f));
      expect(hello, 'the genuine hello .deb is shared').toBeDefined();
      // What is shared is byte for byte what the Debian archive publishes (its lists say so).
      const sha = createHash('sha256')
        .update(await readFile(join(archives, hello!)))
        .digest('hex');
      const lists = join(shared('apt'), 'lists.d');
      let listed = false;
      for (const v of await readdir(lists)) {
        for (const f of await readdir(join(lists, v)).catch(() => [] as string[])) {
          if (!f.endsWith('_Packages')) continue;
          if ((await readFile(join(lists, v, f), 'utf8')).includes(`SHA256: ${sha}`)) listed = true;
        }
      }
      expect(listed).toBe(true);
      expect(existsSync(join(shared('npm'), '_cacache/index-v5/ab/cd', marker))).toBe(false);
      expect(existsSync(join(shared('npm'), badBlob))).toBe(false);
      expect(existsSync(join(shared('pip'), marker))).toBe(false);
      await fx.expectNothingLeft(b.buildId);
    });
  },
);
