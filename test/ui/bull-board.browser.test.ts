/**
 * Bull Board's buttons in a real browser (Debian's headless Chromium through playwright-core)
 * against the API on loopback. Its UI cannot add `X-Joblet-Request` to its calls; the API takes
 * them because the browser itself marks them `Sec-Fetch-Site: same-origin`, which no page on
 * another site can claim. A failed BullMQ job in the farm's `publish` queue is retried by a click,
 * and the job really goes back to waiting.
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveChromium, launchChromium } from './chromium.js';
import { PUBLISH_QUEUE } from '@joblet/queue';
import { startTestApi, type TestApi } from '@joblet/api/testing';

const have = haveChromium('Bull Board browser test');

describe.skipIf(!have)('Bull Board at /admin/queues in headless Chromium', () => {
  let t: TestApi;
  let browser: Browser;
  let queue: Queue;

  beforeAll(async () => {
    t = await startTestApi(['amd64'], { listen: true });
    queue = new Queue(PUBLISH_QUEUE, { connection: t.redis.duplicate(), prefix: t.prefix });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await queue?.obliterate({ force: true }).catch(() => undefined);
    await queue?.close();
    await t?.close();
  });

  it('retries a failed job when its Retry button is clicked', async () => {
    // A real failure: a BullMQ worker takes the job and throws.
    const job = await queue.add('publish', { buildId: 'b-1' }, { attempts: 1 });
    const failing = new Worker(
      PUBLISH_QUEUE,
      () => {
        throw new Error('store unreachable (staged by the test)');
      },
      {
        connection: new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
          maxRetriesPerRequest: null,
        }),
        prefix: t.prefix,
      },
    );
    await new Promise<void>((resolve) => failing.on('failed', () => resolve()));
    await failing.close();
    expect(await queue.getJobState(job.id!)).toBe('failed');

    const page = await browser.newPage();
    const refused: number[] = [];
    const elsewhere: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(t.url!) && !r.url().startsWith('data:')) elsewhere.push(r.url());
    });
    page.on('response', (r) => {
      if (r.request().method() !== 'GET' && r.status() >= 400) refused.push(r.status());
    });
    await page.goto(`${t.url}/admin/queues/queue/${PUBLISH_QUEUE}?status=failed`);
    await page.getByText('store unreachable (staged by the test)').first().waitFor();
    // The per-job buttons are icons; "Retry all" asks for confirmation in a dialog.
    await page.getByRole('button', { name: 'Retry all' }).click();
    await page
      .getByRole('alertdialog')
      .getByRole('button', { name: /^(Confirm|Retry)/ })
      .click();

    await expect.poll(() => queue.getJobState(job.id!), { timeout: 15_000 }).toBe('waiting');
    expect(refused).toEqual([]);
    // No external asset (fonts, CDNs): the board works on an air-gapped farm.
    expect(elsewhere).toEqual([]);
    await page.close();
  });
});
