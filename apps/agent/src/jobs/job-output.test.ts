// JobOutput against real Redis: order across many batches, the line and byte caps keeping the
// tail, long lines split, and backpressure (the source is paused, nothing is lost).
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keys, createRedis, readAfter } from '@joblet/queue';
import { JobEvent } from '@joblet/spec';
import { uniqueName } from '@joblet/testkit';
import type { Redis } from 'ioredis';
import { REDIS_URL } from '../test-support.js';
import { JobOutput } from './job-output.js';

let redis: Redis;
const keys = new Keys(uniqueName('output'));

beforeAll(() => {
  redis = createRedis({ url: REDIS_URL });
});
afterAll(async () => {
  const found = await redis.keys(`${keys.prefix}:*`);
  if (found.length) await redis.del(...found);
  await redis.quit();
});

async function lines(key: string): Promise<string[]> {
  const out: string[] = [];
  let after = '0';
  for (;;) {
    const batch = await readAfter(redis, key, JobEvent, after, 10_000);
    if (batch.length === 0) return out;
    for (const e of batch) if (e.event.type === 'out') out.push(e.event.line);
    after = batch.at(-1)!.id;
  }
}

describe('JobOutput', () => {
  it('appends lines in order across batches, holding them until opened', async () => {
    const key = keys.jobEvents('order');
    const out = new JobOutput({ redis, key, batchLines: 100 });
    const src = new PassThrough();
    out.attach(src, 'stdout');
    src.write('a\nb');
    src.write('c\r\nd\n');
    await new Promise((r) => setTimeout(r, 20));
    expect(await redis.xlen(key)).toBe(0); // not open yet
    out.open();
    for (let i = 0; i < 5000; i++) src.write(`${i}\n`);
    src.end('tail-without-newline');
    const s = await out.finish();
    expect(s).toMatchObject({ lines: 5004, truncated: false });
    const got = await lines(key);
    expect(got.slice(0, 2)).toEqual(['a', 'bc']);
    expect(got[2]).toBe('d');
    expect(got.slice(3, 5003)).toEqual(Array.from({ length: 5000 }, (_, i) => String(i)));
    expect(got.at(-1)).toBe('tail-without-newline');
  });

  it('writes a batch once when Redis applied it but its reply was lost', async () => {
    const key = keys.jobEvents('lost-reply');
    // A client whose first MULTI reaches Redis and is applied, then "loses the connection"
    // before the reply: what a Redis killed right after EXEC looks like to the agent.
    let failed = false;
    const flaky = new Proxy(redis, {
      get(target, prop, receiver) {
        if (prop !== 'multi') return Reflect.get(target, prop, receiver) as unknown;
        return () => {
          const m = target.multi();
          const exec = m.exec.bind(m);
          m.exec = async () => {
            const r = await exec();
            if (failed) return r;
            failed = true;
            throw new Error('Connection is closed.');
          };
          return m;
        };
      },
    });
    const out = new JobOutput({ redis: flaky, key, batchLines: 100 });
    const src = new PassThrough();
    out.attach(src, 'stdout');
    out.open();
    src.end('one\ntwo\nthree\n');
    const s = await out.finish();
    expect(failed).toBe(true);
    expect(await lines(key)).toEqual(['one', 'two', 'three']);
    expect(s).toMatchObject({ lines: 3, truncated: false });
  });

  it('keeps the tail under the line and byte caps', async () => {
    const key = keys.jobEvents('cap');
    const out = new JobOutput({ redis, key, maxLines: 1000, batchLines: 100 });
    const src = new PassThrough();
    out.attach(src, 'stdout');
    out.open();
    for (let i = 0; i < 5000; i++) src.write(`${i}\n`);
    src.end();
    expect(await out.finish()).toMatchObject({ lines: 5000, truncated: true });
    const got = await lines(key);
    expect(got.length).toBeLessThanOrEqual(1000);
    expect(got.length).toBeGreaterThanOrEqual(900);
    expect(got.at(-1)).toBe('4999');
    expect(Number(got[0])).toBe(5000 - got.length);

    const key2 = keys.jobEvents('bytes');
    const byBytes = new JobOutput({ redis, key: key2, maxBytes: 10_000, batchLines: 10 });
    const src2 = new PassThrough();
    byBytes.attach(src2, 'stderr');
    byBytes.open();
    for (let i = 0; i < 100; i++) src2.write(`${String(i).padStart(3, '0')}${'x'.repeat(996)}\n`);
    src2.end();
    expect((await byBytes.finish()).truncated).toBe(true);
    const got2 = await lines(key2);
    expect(got2.length).toBeLessThanOrEqual(10);
    expect(got2.at(-1)?.startsWith('099')).toBe(true);
  });

  it('splits very long lines, and pauses a fast source instead of buffering it all', async () => {
    const key = keys.jobEvents('long');
    const out = new JobOutput({
      redis,
      key,
      maxLineChars: 1000,
      highWaterLines: 50,
      batchLines: 10,
    });
    const src = new PassThrough();
    let paused = 0;
    src.on('pause', () => paused++);
    out.attach(src, 'stdout');
    out.open();
    src.write(`${'y'.repeat(2500)}\n`);
    for (let i = 0; i < 2000; i++) src.write(`${i}\n`);
    src.end();
    const s = await out.finish();
    expect(s.lines).toBe(2003);
    const got = await lines(key);
    expect(got.slice(0, 3).map((l) => l.length)).toEqual([1000, 1000, 500]);
    expect(got.slice(3)).toEqual(Array.from({ length: 2000 }, (_, i) => String(i)));
    expect(paused).toBeGreaterThan(0);
  });
});
