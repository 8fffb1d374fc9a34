/**
 * The hostile suite's build attacks (registered by hostile.e2e.test.ts on its farm): a
 * `maintainer` whose `runtime.yaml` hooks try to escape the build sandbox, reach the farm's
 * services, poison the shared caches for the next build of another spec and leave unsafe modes
 * in the runtime every job loads; then someone with write access to the store (but no signing
 * key) edits a published runtime, and the node refuses it, saying so in `rnx runtime info`.
 */
import { connect, createServer, type Server } from 'node:net';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createArtifactStore, indexKey, runtimeManifestKey } from '@joblet/storage';
import { sandboxReachableHost } from '@joblet/testkit';
import type { Farm, RnxResult } from './farm-fixture.js';
import { ALL_CLOSED, farmProbes, treeViolations } from './hostile-support.js';

const ARCH = process.arch === 'arm64' ? 'arm64' : 'amd64';

export function buildAttacks(o: { farm: () => Farm; spec: string; name: string; waitMs: number }) {
  /** `rnx runtime build -v` of `spec` as a maintainer; the build's log lines, trimmed. */
  const build = async (file: string, spec: string, flags: string[] = []) => {
    const farm = o.farm();
    const token = await farm.rnx(['token', 'create', '--role', 'maintainer', '--ttl', '1d', '-q']);
    expect(token.code, token.stderr).toBe(0);
    const path = join(farm.tmp.path, file);
    await writeFile(path, spec);
    const r: RnxResult = await farm.rnx(['runtime', 'build', '-v', ...flags, path], {
      env: { RNX_TOKEN: token.stdout.trim() },
      timeoutMs: o.waitMs,
    });
    const lines = r.stdout.split('\n').map((l) => l.replace(/^.*\| /, '').trim());
    return { r, lines };
  };
  const hostileSpec = (name: string, body: string) =>
    o.spec.replace(`name: ${o.name}`, `name: ${name}`) + body;
  const marker = `joblet-planted-${process.pid}`;
  const blob = `_cacache/content-v2/sha512/00/11/${'2'.repeat(124)}`;
  /** Indents a script for a `|` block of a hook. */
  const hook = (script: string) =>
    script
      .split('\n')
      .map((l) => `    ${l}`)
      .join('\n');

  /** A decoy service on the host's own address, which no build's package source names. */
  let decoy: Server;
  let decoyPort = 0;
  let decoyConnections = 0;
  beforeAll(async () => {
    decoy = createServer((s) => {
      decoyConnections++;
      s.destroy();
    });
    await new Promise<void>((res) => decoy.listen(0, sandboxReachableHost(), res));
    decoyPort = (decoy.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((res) => decoy?.close(() => res())));

  describe('a maintainer attacking the farm from a build', () => {
    it(
      'runs hooks as an unprivileged host uid that reach no farm service, and cannot poison the download caches of the next build of another spec',
      async () => {
        // The decoy answers the host itself: a closed probe from the hook is the policy's doing.
        await new Promise<void>((res, rej) => {
          const s = connect(decoyPort, sandboxReachableHost(), () => (s.end(), res()));
          s.on('error', rej);
        });
        while (decoyConnections < 1) await new Promise((res) => setTimeout(res, 10));
        const seenByHost = decoyConnections;
        // 1. Not host root: root of a namespace whose root is host uid 100000; a host-owned file
        // (the /dev/null bound into every sandbox) cannot be touched, no user namespace can be
        // made, no kernel keyring loaded (the seccomp filter); neither Redis, the API, the store, a host service nor the metadata address
        // answers (builds have egress). Then it plants files in the caches, and after apt ran
        // replaces every .deb there.
        const a = await build(
          'poison.yaml',
          hostileSpec(
            'hostile-poison',
            `apt: [python3-six]
hooks:
  pre_install: |
    echo "uid_map=$(awk '{print $1, $2, $3}' /proc/self/uid_map)"
    if touch -d @0 /dev/null 2>/dev/null; then echo host-file=CHANGED; else echo host-file=refused; fi
    if unshare --user true 2>/dev/null; then echo userns=MADE; else echo userns=refused; fi
    n=$([ "$(uname -m)" = x86_64 ] && echo 250 || echo 219)
    perl -e 'my $r = syscall($ARGV[0], 0, 0); print "keyctl $r ", $!+0, "\\n"' $n
${hook(farmProbes(o.farm(), { host: sandboxReachableHost(), port: decoyPort }))}
    echo poison > /var/cache/apt/archives/${marker}_1.0_all.deb
    mkdir -p /root/.npm/$(dirname ${blob}) /root/.cache/pip
    echo poison > /root/.npm/${blob}
    echo poison > /root/.cache/pip/${marker}
  post_install: |
    for f in /var/cache/apt/archives/*.deb; do echo poison > "$f"; done
    echo "replaced=$(ls /var/cache/apt/archives/*.deb | wc -l)"
`,
          ),
        );
        expect(a.r.code, a.r.stdout + a.r.stderr).toBe(0);
        expect(a.lines).toEqual(
          expect.arrayContaining([
            'uid_map=0 100000 65536',
            'host-file=refused',
            'userns=refused',
            'keyctl -1 1',
            ...ALL_CLOSED,
          ]),
        );
        expect(decoyConnections).toBe(seenByHost);
        expect(a.lines.some((l) => /^replaced=[1-9]/.test(l))).toBe(true);
        // 2. Another spec built next reads the shared caches: none of it is there, and the
        // six it installs from them is Debian's. Its own hooks leave a world-writable library
        // every job may load and libc, a setuid binary of another owner, a setgid world-writable
        // dir and a scratch dir with a file in it: the tree installed on the node has none.
        const b = await build(
          'victim.yaml',
          hostileSpec(
            'hostile-victim',
            `apt: [python3-six]
hooks:
  pre_install: |
    if ls /var/cache/apt/archives/${marker}* >/dev/null 2>&1; then echo planted-deb=SEEN; else echo planted-deb=absent; fi
    if [ -e /root/.npm/${blob} ] || [ -e /root/.cache/pip/${marker} ]; then echo planted-npm-pip=SEEN; else echo planted-npm-pip=absent; fi
    echo "poisoned-debs=$(grep -l '^poison' /var/cache/apt/archives/*.deb 2>/dev/null | wc -l)"
  post_install: |
    echo "six=$(python3 -c 'import six; print(six.__version__)')"
    chmod 666 /usr/lib/python3/dist-packages/six.py
    for f in /usr/lib/*/libc.so.6; do chmod 666 "$(readlink -f "$f")"; done
    mkdir -p /usr/local/bin /opt/planted-dir /opt/planted-tmp
    cp /bin/true /usr/local/bin/planted-setuid
    chown 1234:1234 /usr/local/bin/planted-setuid
    chmod 4755 /usr/local/bin/planted-setuid
    chmod 2777 /opt/planted-dir
    chmod 1777 /opt/planted-tmp && touch /opt/planted-tmp/leftover
    echo "modes=$(stat -c %a /usr/lib/python3/dist-packages/six.py /usr/local/bin/planted-setuid /opt/planted-dir /opt/planted-tmp | tr '\\n' ' ')"
`,
          ),
          ['--wait-deploy'],
        );
        expect(b.r.code, b.r.stdout + b.r.stderr).toBe(0);
        expect(b.lines).toEqual(
          expect.arrayContaining([
            'planted-deb=absent',
            'planted-npm-pip=absent',
            'poisoned-debs=0',
            'six=1.16.0',
            'modes=666 4755 2777 1777',
          ]),
        );
        const tree = join(o.farm().runtimesDir, 'hostile-victim', '1.0.0');
        const isolated = join(tree, 'isolated');
        expect(existsSync(join(isolated, 'usr/local/bin/planted-setuid'))).toBe(true);
        expect(existsSync(join(isolated, 'opt/planted-dir'))).toBe(true);
        expect(readdirSync(join(isolated, 'opt/planted-tmp'))).toEqual([]);
        expect(statSync(join(isolated, 'opt/planted-tmp')).mode & 0o7777).toBe(0o755);
        expect(treeViolations(tree)).toEqual([]);
      },
      2 * o.waitMs + 120_000,
    );
  });

  describe('someone with write access to the store but no signing key', () => {
    it('edits a published runtime: the node refuses it, and rnx runtime info shows BAD_SIGNATURE for that node', async () => {
      const farm = o.farm();
      const store = createArtifactStore(farm.s3.url(farm.bucket));
      const [name, version] = ['hostile-poison', '1.0.0'];
      type Install = {
        node: string;
        state: string;
        failure?: { code: string; message: string; details?: { signedBy?: string[] } };
      };
      /** This node's install of the runtime, once `done` holds (or after 150 s). */
      const install = async (done: (i: Install | undefined) => boolean) => {
        let mine: Install | undefined;
        for (let i = 0; i < 300 && !done(mine); i++) {
          if (i > 0) await new Promise((res) => setTimeout(res, 500));
          const info = await farm.rnx(['runtime', 'info', `${name}@${version}`, '--json']);
          const installs = (JSON.parse(info.stdout) as { installs: Install[] }).installs;
          mine = installs.find((n) => n.node === farm.node);
        }
        return mine;
      };
      // The node has the signed runtime first (the poison build published it).
      expect((await install((i) => i?.state === 'installed'))?.state).toBe('installed');
      // Claim another tree in both the manifest and the index entry (as a swapped archive
      // would), keeping the manifest's signature.
      const flip = (h: string) => h.slice(0, -1) + (h.endsWith('0') ? '1' : '0');
      const mKey = runtimeManifestKey(name, version, ARCH);
      const manifest = (await store.getJson(mKey)) as { treeHash: string };
      const forged = flip(manifest.treeHash);
      await store.putJson(mKey, { ...manifest, treeHash: forged });
      const entry = (await store.getJson(indexKey(name, version))) as {
        arches: Record<string, { treeHash: string }>;
      };
      entry.arches[ARCH] = { ...entry.arches[ARCH]!, treeHash: forged };
      await store.putJson(indexKey(name, version), entry);
      // The agent's periodic reconcile (AGENT_RECONCILE_S of the farm) finds it.
      const mine = await install((i) => i?.failure?.code === 'BAD_SIGNATURE');
      expect(mine?.state, JSON.stringify(mine)).toBe('failed');
      expect(mine?.failure?.code).toBe('BAD_SIGNATURE');
      expect(mine?.failure?.message).toMatch(
        /manifest runtimes\/hostile-poison\/1\.0\.0\/\w+\/manifest\.json has no valid signature by a trusted key: \S+ \(signature does not verify\); trusted keys: \S+ \(AGENT_TRUSTED_KEYS\)/,
      );
      const text = await farm.rnx(['runtime', 'info', `${name}@${version}`]);
      expect(text.stdout).toMatch(
        new RegExp(`^ +${farm.node}\\s+${ARCH}\\s+failed — BAD_SIGNATURE: manifest `, 'm'),
      );
      expect(text.stdout).toMatch(/^ +signed by: \S+$/m);
      expect(text.stdout).toMatch(/^ +trusted keys: \S+$/m);
      // The worker's log names the key it signed with, the agent's the key it verified the
      // install before the edit with: the key the refusal names as the signer.
      const signer = mine?.failure?.details?.signedBy?.[0] ?? '';
      expect(signer).toMatch(/^[0-9a-f]{64}$/);
      const log = (file: string) => readFileSync(join(farm.dir, 'logs', file), 'utf8');
      expect(log(`worker-${ARCH}.log`)).toMatch(
        new RegExp(`"keyIds":\\["${signer}"\\],"msg":"manifest signed"`),
      );
      expect(log('agent.log')).toMatch(
        new RegExp(
          `"runtime":"${name}@${version}","keyId":"${signer}","msg":"manifest signature verified"`,
        ),
      );
      // The tree in place is the signed one still.
      const record = join(farm.runtimesDir, '.state', `${name}@${version}.json`);
      const rec = JSON.parse(readFileSync(record, 'utf8')) as { treeHash: string };
      expect(rec.treeHash).toBe(manifest.treeHash);
      expect(
        existsSync(
          join(farm.runtimesDir, name, version, 'isolated/usr/lib/python3/dist-packages/six.py'),
        ),
      ).toBe(true);
    }, 400_000);
  });
}
