// CgroupManager for real, on this host's cgroups (hybrid on the farm's machines, v1 controllers
// beneath our own nested memory cgroup; the same tests run on a pure v2 host). Every group is
// destroyed after its test and the last test proves nothing with this file's prefix is left.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { blockDeviceOf } from './block-device.js';
import { CgroupManager } from './cgroup.js';
import { parseCpuList, parseProcs } from './cgroup-format.js';
import type { Cgroup, CgroupLimits } from './cgroup-types.js';
import { detectCgroupLayout, type CgroupLayout } from './cgroups.js';
import { SandboxErrorCode } from './errors.js';
import { run, spawnProcess } from './exec.js';
import { processStartTime } from './file-lock.js';
import { isRoot } from './host-probe.js';
import { cleanupTemps, tempDir, x } from './testing.js';

const here = dirname(fileURLToPath(import.meta.url));
const TSX = join(here, '../../../node_modules/.bin/tsx');
const NS = `jt-${process.pid}`;
const layout = await detectCgroupLayout();

/** What these tests need that this host may lack (empty: run them). */
function missing(l: CgroupLayout): string[] {
  if (!isRoot()) return ['root'];
  const need = ['memory', 'cpu', 'cpuset', 'pids'];
  return need.filter((c) => !l.controllers.includes(c)).map((c) => `the ${c} controller`);
}
const lacks = missing(layout);

/** True while `pid` runs (a zombie counts as gone: it holds nothing). */
async function alive(pid: number): Promise<boolean> {
  return (await processStartTime(pid)) !== null;
}

async function waitFor(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function procs(g: Cgroup): number[] {
  return parseProcs(readFileSync(join(g.paths[0]!, 'cgroup.procs'), 'utf8'));
}

describe.skipIf(lacks.length > 0)(
  `CgroupManager on this host [requires ${lacks.join(', ') || 'root and cgroup controllers'}]`,
  () => {
    const stateDir = tempDir('cgstate');
    const opts = { namespace: NS, stateDir };
    const manager = CgroupManager.detect(opts);
    const made: Cgroup[] = [];
    const make = async (name: string, limits: CgroupLimits = {}): Promise<Cgroup> => {
      const g = await (await manager).create(name, limits);
      made.push(g);
      return g;
    };
    afterEach(async () => {
      for (const g of made.splice(0)) await g.destroy();
    });
    afterAll(async () => {
      await (await manager).removeNamespace();
      await cleanupTemps();
    });

    it('detects what this host enforces', async () => {
      const m = await manager;
      const s = m.supports();
      expect(s).toMatchObject({ memory: true, cpu: true, cpuset: true, pids: true, kill: true });
      // The farm's machines are hybrid: v1 controllers, our memory cgroup nested in /process_api.
      if (layout.version === 'hybrid') {
        const memNs = m.namespaceDirs().find((d) => d.includes('/memory/'));
        expect(memNs).toBe(join(layout.v1.memory!.ownDir, NS));
      }
    });

    it('OOM-kills a process allocating past the memory limit, and reports it', async () => {
      const g = await make('mem', { memoryBytes: 64 << 20 });
      // tail buffers a line: with no newline in the input it holds everything it reads.
      const ok = g.wrap('sh', ['-c', 'head -c 16M /dev/zero | tail | wc -c']);
      expect((await run(ok.cmd, ok.args)).stdout.trim()).toBe(String(16 << 20));
      const big = g.wrap('sh', ['-c', 'head -c 200M /dev/zero | tail | wc -c']);
      const r = await run(big.cmd, big.args);
      expect(r.stdout.trim()).not.toBe(String(200 << 20));
      const s = await g.stats();
      expect(s.oomKills).toBeGreaterThanOrEqual(1);
      expect(s.memoryPeakBytes).toBeGreaterThan(32 << 20);
      expect(s.memoryPeakBytes).toBeLessThanOrEqual(64 << 20);
      // The allocator itself dies by SIGKILL. ulimit -v (KiB) bounds it should the limit fail.
      const direct = g.wrap('sh', ['-c', 'ulimit -v 1048576; exec tail /dev/zero']);
      const d = await run(direct.cmd, direct.args);
      expect(d.signal).toBe('SIGKILL');
      expect((await g.stats()).oomKills).toBeGreaterThanOrEqual(2);
    });

    it('holds a busy loop near half a core with cpuPercent 50', async () => {
      const g = await make('cpu', { cpuPercent: 50 });
      const w = g.wrap('timeout', ['2', 'sh', '-c', 'while :; do :; done']);
      const t0 = performance.now();
      const r = await run(w.cmd, w.args);
      const wallMs = performance.now() - t0;
      expect(r.code).toBe(124); // ended by timeout, not by an error
      const ratio = (await g.stats()).cpuUsageUsec / 1000 / wallMs;
      expect(ratio).toBeGreaterThan(0.35);
      expect(ratio).toBeLessThan(0.65);
    });

    it('pins to the CPUs given', async () => {
      const online = parseCpuList(readFileSync('/sys/devices/system/cpu/online', 'utf8'))!;
      for (const cpu of new Set([online[0]!, online.at(-1)!])) {
        const g = await make(`pin-${cpu}`, { cpus: String(cpu) });
        const w = g.wrap('grep', ['Cpus_allowed_list', '/proc/self/status']);
        expect((await run(w.cmd, w.args)).stdout).toBe(`Cpus_allowed_list:\t${cpu}\n`);
      }
    });

    it('contains a fork bomb with pidsMax, and kill() ends all of it', async () => {
      const g = await make('pids', { pidsMax: 20 });
      const w = g.wrap('sh', ['-c', 'for i in $(seq 100); do sleep 30 & done; wait']);
      const h = spawnProcess(w.cmd, w.args, { killGroupOnExit: false });
      await waitFor('a refused fork', async () => ((await g.stats()).pidsLimitHits ?? 0) > 0);
      const inside = procs(g);
      expect(inside.length).toBeGreaterThanOrEqual(15);
      expect(inside.length).toBeLessThanOrEqual(20);
      await g.kill();
      expect((await g.stats()).pids).toBe(0);
      for (const pid of inside) expect(await alive(pid), `pid ${pid}`).toBe(false);
      await h.result;
    });

    it('kills a whole tree, a double-forked daemon in its own session included', async () => {
      const g = await make('tree');
      // ( sleep & ) in a setsid shell: the daemon's parent exits, it leaves session and group.
      const script = 'setsid sh -c "(exec sleep 300 &)"; sleep 302 & echo started; wait';
      const w = g.wrap('sh', ['-c', script]);
      const h = spawnProcess(w.cmd, w.args, { killGroupOnExit: false });
      await waitFor('three processes', async () => Promise.resolve(procs(g).length === 3));
      const inside = procs(g);
      const session = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!;
      const sessions = new Set(inside.map((p) => session(p).split(' ')[3])); // field 6: session
      expect(sessions.size).toBe(2); // the daemon escaped our process group and session
      await g.kill();
      for (const pid of inside) expect(await alive(pid), `pid ${pid}`).toBe(false);
      expect((await h.result).signal).toBe('SIGKILL');
    });

    it.skipIf(layout.v1.freezer === undefined)(
      'kills a forking tree with the v1 freezer where cgroup.kill is not used [requires freezer]',
      async () => {
        // The same host seen as pure v1 (no unified hierarchy): the path old kernels take.
        const v1Only: CgroupLayout = { ...layout, version: 'v1', unified: undefined };
        const m = await CgroupManager.detect({ ...opts, layout: v1Only });
        expect(m.supports().kill).toBe(true);
        const g = await m.create('freezer');
        made.push(g);
        const freezerDir = g.paths.find((p) => p.includes('/freezer/'))!;
        expect(freezerDir).toBeDefined();
        // Forks about 100 short-lived shells a second, plus a daemon in its own session.
        const script =
          'setsid sh -c "(exec sleep 300 &)"; while :; do sh -c "sleep 1" & sleep 0.01; done';
        const w = g.wrap('sh', ['-c', script]);
        const h = spawnProcess(w.cmd, w.args, { killGroupOnExit: false });
        await waitFor('a busy tree', async () => Promise.resolve(procs(g).length >= 30));
        const seen = procs(g);
        await g.kill();
        expect((await g.stats()).pids).toBe(0);
        for (const pid of seen) expect(await alive(pid), `pid ${pid}`).toBe(false);
        expect((await h.result).signal).toBe('SIGKILL');
        expect(readFileSync(join(freezerDir, 'freezer.state'), 'utf8').trim()).toBe('THAWED');
      },
    );

    it('destroy() right after exit leaves no directory, and is idempotent', async () => {
      for (let i = 0; i < 10; i++) {
        const g = await (await manager).create(`quick-${i}`, { pidsMax: 10, cpuPercent: 100 });
        const w = g.wrap('true', []);
        expect((await run(w.cmd, w.args)).code).toBe(0);
        await g.destroy();
        for (const p of g.paths) expect(existsSync(p), p).toBe(false);
        await g.destroy();
      }
    });

    it('never runs the command when joining fails', async () => {
      const g = await (await manager).create('gone');
      await g.destroy();
      const marker = join(tempDir('cgjoin'), 'ran');
      const w = g.wrap('touch', [marker]);
      const r = await run(w.cmd, w.args);
      expect(r.code).toBe(125);
      expect(r.stderr).toContain(`cgroup-join: cannot join ${g.paths[0]}`);
      expect(existsSync(marker)).toBe(false);
    });

    it('refuses invalid and unsupported limits before creating anything', async () => {
      const m = await manager;
      await expect(m.create('bad-cpus', { cpus: '0-63' })).rejects.toMatchObject({
        code: SandboxErrorCode.LimitInvalid,
        message: expect.stringMatching(/^cpus limit: CPU .* is not online/) as unknown,
      });
      await expect(
        m.create('bad-io', { ioBps: [{ device: '999:999', readBps: 1 }] }),
      ).rejects.toMatchObject({
        code: SandboxErrorCode.LimitInvalid,
        message: 'io limit: no block device 999:999 on this host',
      });
      await expect(m.create('bad-mem', { memoryBytes: 1 << 20 })).rejects.toMatchObject({
        code: SandboxErrorCode.LimitInvalid,
      });
      await expect(m.create('Bad/Name', {})).rejects.toMatchObject({
        code: SandboxErrorCode.InvalidSpec,
      });
      for (const d of m.namespaceDirs()) {
        expect(existsSync(join(d, 'bad-cpus')) || existsSync(join(d, 'bad-io'))).toBe(false);
      }
      await make('dup');
      await expect(m.create('dup', {})).rejects.toMatchObject({
        code: SandboxErrorCode.CgroupExists,
      });
    });

    it.skipIf(layout.version === 'v2')(
      'refuses an io limit where blkio is missing [v1/hybrid: hides blkio]',
      async () => {
        const { blkio: _gone, ...v1 } = layout.v1;
        const m = await CgroupManager.detect({
          ...opts,
          layout: { ...layout, v1, controllers: layout.controllers.filter((c) => c !== 'blkio') },
        });
        expect(m.supports().io).toBe(false);
        await expect(
          m.create('no-io', { ioBps: [{ device: '254:0', writeBps: 1 << 20 }] }),
        ).rejects.toMatchObject({
          code: SandboxErrorCode.LimitUnsupported,
          message: expect.stringMatching(
            /^io limit: the blkio controller is not available on this host/,
          ) as unknown,
        });
      },
    );

    it('throttles direct writes to the disk holding the temp dir', async (ctx) => {
      const dir = tempDir('cgio');
      const disk = await blockDeviceOf(dir);
      if (disk === undefined)
        ctx.skip(`${dir} is on no block device (tmpfs?): nothing to throttle`);
      if (!(await manager).supports().io) ctx.skip('the io/blkio controller is missing here');
      // O_DIRECT: v1 throttles only I/O it can attribute, and page-cache writeback is not.
      const dd = ['if=/dev/zero', `of=${join(dir, 'f')}`, 'bs=64k', 'count=24', 'oflag=direct'];
      let t0 = performance.now();
      expect((await run('dd', dd)).code).toBe(0);
      const freeMs = performance.now() - t0;
      const g = await make('io', { ioBps: [{ device: disk!, writeBps: 1 << 20 }] });
      const w = g.wrap('dd', dd); // 1.5 MiB at 1 MiB/s: about 1.5 s
      t0 = performance.now();
      expect((await run(w.cmd, w.args)).code).toBe(0);
      const limitedMs = performance.now() - t0;
      expect(limitedMs).toBeGreaterThan(1_200);
      expect(freeMs).toBeLessThan(1_000);
    });

    it('adds an existing pid to every hierarchy', async () => {
      const g = await make('add');
      const h = spawnProcess('sleep', ['30']);
      await g.addPid(h.pid);
      for (const p of g.paths) {
        expect(parseProcs(readFileSync(join(p, 'cgroup.procs'), 'utf8'))).toContain(h.pid);
      }
      await g.kill();
      expect((await h.result).signal).toBe('SIGKILL');
      await expect(g.addPid(2 ** 30)).rejects.toMatchObject({
        code: SandboxErrorCode.CgroupFailed,
      });
    });

    it('wrap() passes the command and arguments verbatim, never through the shell', async () => {
      const g = await make('verbatim');
      const args = ['$(touch /tmp/pwned)', '; echo no', `'"\\`, '*', '', '$HOME', '\n'];
      const w = g.wrap('printf', ['[%s]', ...args]);
      const r = await run(w.cmd, w.args);
      expect(r.stdout).toBe(args.map((a) => `[${a}]`).join(''));
      expect(() => g.wrap('-i', [])).toThrow(/cannot wrap/);
    });

    it.skipIf(!existsSync(TSX))(
      'cleanupStale() removes a group left by a killed process, and only that [requires tsx]',
      async () => {
        const m = await manager;
        const script = join(tempDir('cgchild'), 'child.mts');
        const src = (f: string) => JSON.stringify(pathToFileURL(join(here, f)).href);
        writeFileSync(
          script,
          `import { CgroupManager } from ${src('cgroup.ts')};
import { spawnProcess } from ${src('exec.ts')};
const [namespace, stateDir] = process.argv.slice(2);
const m = await CgroupManager.detect({ namespace, stateDir });
const g = await m.create('stale-dead', { pidsMax: 10 });
const w = g.wrap('sleep', ['300']);
const h = spawnProcess(w.cmd, w.args, { stdout: 'ignore', stderr: 'ignore', killGroupOnExit: false });
process.stdout.write(h.pid + '\\n');
setInterval(() => undefined, 1000);
`,
        );
        const child = spawnProcess(TSX, [script, NS, stateDir], { stdout: 'pipe' });
        const sleeper = await new Promise<number>((resolve, reject) => {
          child.stdout!.once('data', (b: Buffer) => resolve(Number(b.toString().trim())));
          void child.result.then((r) => reject(new Error(`child ended: ${r.stderr}`)), reject);
        });
        child.kill('SIGKILL');
        await child.result;
        const mine = await make('stale-mine');
        const other = await CgroupManager.detect(opts);
        const theirs = await other.create('stale-live-owner', {});
        try {
          await waitFor('the sleeper to join', async () => {
            const all = m.namespaceDirs().map((d) => join(d, 'stale-dead', 'cgroup.procs'));
            return Promise.resolve(
              all.some((f) => existsSync(f) && readFileSync(f, 'utf8').includes(`${sleeper}`)),
            );
          });
          expect(await alive(sleeper)).toBe(true);
          expect(await m.cleanupStale('stale-')).toEqual(['stale-dead']);
          expect(await alive(sleeper)).toBe(false);
          for (const d of m.namespaceDirs()) expect(existsSync(join(d, 'stale-dead'))).toBe(false);
          expect(existsSync(join(stateDir, NS, 'stale-dead.json'))).toBe(false);
          for (const p of [...mine.paths, ...theirs.paths]) expect(existsSync(p)).toBe(true);
          expect(await m.cleanupStale()).toEqual([]);
        } finally {
          await theirs.destroy();
        }
      },
    );

    it('leaves no cgroup with this file prefix behind', async () => {
      const m = await manager;
      await m.removeNamespace();
      for (const d of m.namespaceDirs()) expect(existsSync(d), d).toBe(false);
      const found = x('find', ['/sys/fs/cgroup', '-maxdepth', '6', '-name', `${NS}*`]);
      expect(found).toBe('');
      expect(existsSync(join(stateDir, NS))).toBe(false);
    });
  },
);
