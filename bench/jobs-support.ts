/**
 * Helpers of the jobs benchmark (jobs.bench.ts): the floor a job is compared with — the same
 * command under a bare `bwrap` with exactly the mounts the agent gives the runtime (the agent's
 * own sandbox description turned into bwrap's arguments, without the queue, cgroup, helpers,
 * output or records) — and the agent's CPU time.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { BwrapJobSandbox, RuntimeMounts } from '@joblet/agent/testing';
import { bwrapArgs } from '@joblet/sandbox';

export interface Floor {
  /** Milliseconds from spawning bwrap to the command's first line of output. */
  firstLine(cmd: string, args: string[]): Promise<number>;
  /** Runs the command to its end; rejects unless it exits 0. */
  run(cmd: string, args: string[]): Promise<void>;
  close(): Promise<void>;
}

/** The floor for a runtime installed at `runtimeDir`. */
export async function bareBwrap(runtimeDir: string, scratch: string): Promise<Floor> {
  const mounts = new RuntimeMounts();
  const sandbox = new BwrapJobSandbox({ mounts });
  const { yml } = await mounts.get(runtimeDir);
  const work = await mkdtemp(join(scratch, 'floor-work-'));
  await chmod(work, 0o777);
  // The floor is bare bwrap: the runtime's mounts and namespaces, no seccomp filter (the agent
  // hands bwrap that on a pipe of its own).
  const argv = async (cmd: string, args: string[]) => [
    ...bwrapArgs({
      ...(await sandbox.spec({
        runtimeDir,
        runtimeYml: yml,
        workDir: work,
        command: cmd,
        args,
        env: {},
        network: 'none',
        hostname: 'floor',
        binds: [],
      })),
      seccomp: false,
    }),
    '--',
    cmd,
    ...args,
  ];
  return {
    async firstLine(cmd, args) {
      const a = await argv(cmd, args);
      const t = performance.now();
      const child = spawn('bwrap', a, { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve, reject) => {
        child.once('error', reject);
        child.stdout.once('data', () => resolve());
        child.once('exit', (code) => reject(new Error(`bwrap exited ${code} before output`)));
      });
      const ms = performance.now() - t;
      await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
      return ms;
    },
    async run(cmd, args) {
      const a = await argv(cmd, args);
      await new Promise<void>((resolve, reject) => {
        const child = spawn('bwrap', a, { stdio: ['ignore', 'ignore', 'inherit'] });
        child.once('error', reject);
        child.once('exit', (code) =>
          code === 0 ? resolve() : reject(new Error(`bwrap exited ${code}`)),
        );
      });
    },
    close: () => rm(work, { recursive: true, force: true }),
  };
}

/** User plus system CPU time of a process so far, in milliseconds (/proc/PID/stat). */
export async function cpuMsOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line (11 and 12 after the state), in
  // clock ticks: 100 per second on Linux.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** Runs `fn` over `items` with `n` at a time. */
export async function pool<T>(
  items: T[],
  n: number,
  fn: (t: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}
