// A writable, throw-away root as root of a one-id user namespace (the default runtime's jobs):
// writes land in the upper layer only, the lower tree is never changed, the overlay is mounted in
// the sandbox's own mount namespace only, and the host sees an unprivileged uid.
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NOBODY, type SandboxSpec } from './bwrap.js';
import { SandboxErrorCode } from './errors.js';
import { hasCommand, hasUnprivilegedUserns, isRoot } from './host-probe.js';
import { launchSandbox, runInSandbox } from './launcher.js';
import { cleanupTemps, tempDir } from './testing.js';

afterAll(cleanupTemps);

const canRun = isRoot() && hasCommand('bwrap', ['--version']) && hasUnprivilegedUserns();

/** A lower tree owned by the mapped uid (as the agent prepares it), the host's /usr bound in. */
function overlaySpec(): { spec: SandboxSpec; lower: string; upper: string; mountpoint: string } {
  const dir = tempDir('root-overlay');
  chmodSync(dir, 0o711); // bwrap runs as the mapped uid and must reach the mountpoint
  const lower = join(dir, 'lower');
  for (const d of ['etc', 'usr', 'proc', 'dev', 'tmp'])
    mkdirSync(join(lower, d), { recursive: true });
  for (const l of ['bin', 'lib', 'lib64', 'sbin']) symlinkSync(`usr/${l}`, join(lower, l));
  writeFileSync(join(lower, 'etc/motd'), 'from the lower layer\n');
  for (const p of ['', 'etc', 'etc/motd', 'usr', 'proc', 'dev', 'tmp'])
    chownSync(join(lower, p), NOBODY, NOBODY);
  const upper = join(dir, 'upper');
  const work = join(dir, 'work');
  const mountpoint = join(dir, 'root');
  for (const d of [upper, work, mountpoint]) mkdirSync(d);
  chownSync(upper, NOBODY, NOBODY);
  const spec: SandboxSpec = {
    rootOverlay: { lower, upper, work, mountpoint },
    usernsRoot: { hostUid: NOBODY, hostGid: NOBODY },
    binds: [{ source: '/usr', target: '/usr' }],
    tmpfs: ['/tmp'],
    env: { PATH: '/usr/bin:/bin' },
    capabilities: ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER'],
  };
  return { spec, lower, upper, mountpoint };
}

describe.skipIf(!canRun)('a root overlay [requires root, bwrap and user namespaces]', () => {
  it('is root inside, writes land in the upper layer, the lower tree stays as it was', async () => {
    const { spec, lower, upper } = overlaySpec();
    const r = await runInSandbox(
      spec,
      '/bin/sh',
      ['-c', 'id -u; echo hi > /etc/x && cat /etc/x; echo changed >> /etc/motd; chown 0:0 /etc/x'],
      { timeoutMs: 20_000 },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('0\nhi\n');
    expect(r.code).toBe(0);
    expect(existsSync(join(lower, 'etc/x'))).toBe(false);
    expect(readFileSync(join(lower, 'etc/motd'), 'utf8')).toBe('from the lower layer\n');
    expect(readFileSync(join(upper, 'etc/motd'), 'utf8')).toBe('from the lower layer\nchanged\n');
    // Root inside is an unprivileged uid to the host.
    expect(statSync(join(upper, 'etc/x')).uid).toBe(NOBODY);
  });

  it('maps one id only: chown to another uid fails', async () => {
    const { spec } = overlaySpec();
    const r = await runInSandbox(spec, '/bin/sh', ['-c', 'touch /etc/y && chown 1000 /etc/y'], {
      timeoutMs: 20_000,
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/chown/);
  });

  it('is mounted in the sandbox only: the host never sees it', async () => {
    const { spec, mountpoint } = overlaySpec();
    const p = launchSandbox(spec, '/bin/sh', ['-c', 'echo up; exec sleep 30'], {
      stdio: 'capture',
      timeoutMs: 20_000,
    });
    let seen = '';
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        const status = readFileSync(`/proc/${p.pid}/status`, 'utf8');
        // Once dropped to the sandbox uid, the overlay is mounted in its namespace.
        if (/^Uid:\s+65534/m.test(status)) {
          clearInterval(t);
          resolve();
        }
      }, 20);
    });
    seen = readFileSync('/proc/self/mountinfo', 'utf8');
    const inside = readFileSync(`/proc/${p.pid}/mountinfo`, 'utf8');
    await p.stop();
    await p.result;
    expect(seen).not.toContain(mountpoint);
    expect(inside).toContain('joblet-root');
  });

  it('refuses option syntax in its paths before anything runs', () => {
    const { spec } = overlaySpec();
    const bad = { ...spec, rootOverlay: { ...spec.rootOverlay!, upper: '/tmp/a,b' } };
    expect(() => launchSandbox(bad, '/bin/true', [])).toThrow(
      expect.objectContaining({ code: SandboxErrorCode.InvalidSpec }),
    );
    const both = { ...spec, uid: 1000 };
    expect(() => launchSandbox(both, '/bin/true', [])).toThrow(/usernsRoot excludes uid/);
  });
});
