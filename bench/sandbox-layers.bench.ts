/**
 * What each isolation layer costs a job's start, measured side by side in one run (round-robin,
 * so a noisy neighbour hits every variant alike): `python3 -c 'print(1)'` on a runtime-like root
 * (the host's /usr bound read-only at /usr, merged-/usr links, tmpfs /tmp, the root read-only),
 * started through the one launcher as jobs are:
 *   - `plain`: no seccomp filter, no network (the floor the layers are compared with);
 *   - `seccomp`: the farm's filter (what every sandbox now gets);
 *   - `egress`: the filter plus an egress network (slirp4netns) and its nftables policy;
 *   - `policy`: the policy step alone (`nsenter` + `nft -f -` into a fresh network namespace),
 *     i.e. the part of `egress` that the network policy adds.
 * n runs each; medians and p99 in ms; ratios to `plain`, and the network policy's own ratio: an
 * egress start with the policy to one without it. The launcher sets the policy before it releases
 * the command (nothing of it overlaps the start), so the start without it is `egress` less the
 * policy step measured alone in the same run; the launcher has no switch to leave the policy
 * out, on purpose.
 */
import { spawn } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { applyEgressPolicy, hasCommand, launchSandbox, type SandboxSpec } from '@joblet/sandbox';
import { percentiles } from './stats.js';

const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;

const N = Number(process.env.BENCH_LAYERS_N ?? 200);

const runtime: SandboxSpec = {
  binds: [{ source: '/usr', target: '/usr' }],
  symlinks: [
    { path: '/bin', target: 'usr/bin' },
    { path: '/lib', target: 'usr/lib' },
    { path: '/lib64', target: 'usr/lib64' },
  ],
  tmpfs: ['/tmp'],
  readonlyRoot: true,
  env: { PATH: '/usr/bin' },
};

async function timeOne(spec: SandboxSpec): Promise<number> {
  const t0 = performance.now();
  const r = await launchSandbox(spec, '/usr/bin/python3', ['-c', 'print(1)']).result;
  if (r.code !== 0) throw new Error(`sandbox failed: ${r.stderr}`);
  return performance.now() - t0;
}

/** The policy step alone, against a process in a fresh network namespace. */
async function timePolicy(): Promise<number> {
  const child = spawn('unshare', ['--net', 'sleep', '30'], { stdio: 'ignore' });
  // Until unshare has made its namespace, the child is still in ours (applyEgressPolicy refuses).
  const ours = readlinkSync('/proc/self/ns/net');
  for (let i = 0; i < 500 && readlinkSync(`/proc/${child.pid}/ns/net`) === ours; i++)
    await new Promise((r) => setTimeout(r, 10));
  try {
    const t0 = performance.now();
    await applyEgressPolicy(child.pid!, []);
    return performance.now() - t0;
  } finally {
    child.kill('SIGKILL');
  }
}

export async function run(): Promise<Record<string, unknown>> {
  if (process.getuid?.() !== 0) return { skipped: 'needs root (cgroups, nsenter)' };
  if (!hasCommand('bwrap') || !hasCommand('slirp4netns') || !hasCommand('nft')) {
    return { skipped: 'needs bwrap, slirp4netns and nftables' };
  }
  const variants: Record<string, () => Promise<number>> = {
    plain: () => timeOne({ ...runtime, seccomp: false }),
    seccomp: () => timeOne(runtime),
    egress: () => timeOne({ ...runtime, network: 'egress' }),
    policy: timePolicy,
  };
  const samples: Record<string, number[]> = {};
  for (const name of Object.keys(variants)) {
    await variants[name]!(); // warm-up, not kept
    samples[name] = [];
  }
  for (let i = 0; i < N; i++) {
    for (const [name, fn] of Object.entries(variants)) samples[name]!.push(await fn());
  }
  const stats = Object.fromEntries(
    Object.entries(samples).map(([name, s]) => [name, percentiles(s)]),
  );
  const p50 = (name: string) => (stats[name] as { p50: number }).p50;
  return {
    n: N,
    ms: stats,
    ratioToPlain: {
      seccomp: ratio(p50('seccomp'), p50('plain')),
      egress: ratio(p50('egress'), p50('plain')),
    },
    policyShareOfEgressP50: ratio(p50('policy'), p50('egress')),
    ratioEgressWithPolicyToWithout: ratio(p50('egress'), p50('egress') - p50('policy')),
  };
}
