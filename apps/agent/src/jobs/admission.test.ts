// Admission's bookkeeping on its own: what a job reserves, who waits, in which order, and the
// refusal of a job larger than the node. (job-admission.test.ts runs it with real jobs.)
import { describe, expect, it } from 'vitest';
import { Admission } from './admission.js';
import { JobFailure } from './job-errors.js';

const MiB = 1024 * 1024;
const make = () =>
  new Admission({
    node: 'n1',
    cpuPercent: 200,
    memoryBytes: 2000 * MiB,
    defaultCpuPercent: 10,
    defaultMemoryBytes: 64 * MiB,
  });

/** True when `p` settled within a turn of the event loop. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setImmediate(r));
  return done;
}

describe('Admission', () => {
  it('reserves a job’s limits, or the defaults for a job without them', () => {
    const a = make();
    expect(a.needOf({})).toEqual({ cpuPercent: 10, memoryBytes: 64 * MiB });
    expect(a.needOf({ maxCpuPercent: 50, maxMemoryMB: 300 })).toEqual({
      cpuPercent: 50,
      memoryBytes: 300 * MiB,
    });
    expect(a.needOf({ cpuCores: '0-1' }).cpuPercent).toBe(200);
    expect(a.needOf({ cpuCores: '1', maxCpuPercent: 30 }).cpuPercent).toBe(30);
  });

  it('admits twenty jobs without limits on two cores, and the twenty-first waits for one to end', async () => {
    const a = make();
    const releases = await Promise.all(Array.from({ length: 20 }, () => a.admit(a.needOf({}))));
    const next = a.admit(a.needOf({}));
    expect(await settled(next)).toBe(false);
    expect(a.state()).toMatchObject({ cpuPercent: 200, waiting: 1 });
    releases[0]!();
    releases[0]!(); // twice gives back once
    expect(await settled(next)).toBe(true);
    expect(a.state()).toMatchObject({ cpuPercent: 200, waiting: 0 });
  });

  it('keeps arrival order: a small job does not overtake a waiting large one', async () => {
    const a = make();
    const first = await a.admit(a.needOf({ maxMemoryMB: 1200 }));
    const large = a.admit(a.needOf({ maxMemoryMB: 1200 }));
    const small = a.admit(a.needOf({}));
    expect(await settled(large)).toBe(false);
    expect(await settled(small)).toBe(false);
    first();
    expect(await settled(large)).toBe(true);
    expect(await settled(small)).toBe(true);
    expect(a.state().memoryBytes).toBe(1264 * MiB);
  });

  it('refuses at once a job larger than the node, naming its limit and the node’s', async () => {
    const a = make();
    const err = await a.admit(a.needOf({ maxMemoryMB: 3000 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobFailure);
    expect((err as JobFailure).reason).toBe('start-failed');
    expect((err as JobFailure).message).toBe(
      '--max-memory 3000 MB is more than node n1 has for jobs: 2000 MB',
    );
    await expect(a.admit(a.needOf({ maxCpuPercent: 300 }))).rejects.toThrow(/300 %.*200 %/);
  });

  it('drops a waiting job whose wait is aborted, and the jobs behind it move up', async () => {
    const a = make();
    const first = await a.admit(a.needOf({ maxMemoryMB: 1900 }));
    const abort = new AbortController();
    const aborted = a.admit(a.needOf({ maxMemoryMB: 1900 }), abort.signal);
    const small = a.admit(a.needOf({ maxMemoryMB: 50 }));
    abort.abort(new Error('stopped'));
    await expect(aborted).rejects.toThrow('stopped');
    expect(await settled(small)).toBe(true);
    first();
    expect(a.state()).toEqual({ cpuPercent: 10, memoryBytes: 50 * MiB, waiting: 0 });
  });
});
