/**
 * The dashboard in a real browser: Debian's headless Chromium driven by Playwright (playwright-core
 * with executablePath; no browser download) against the API listening on loopback, with published
 * runtimes and registered nodes. No worker runs: the test plays the worker's part with the same
 * calls a worker makes (BuildStore.updateArch/finish and appendEvent on the build's stream; the
 * agent's JobStore transitions and output lines for a job), so each step is deterministic. The page
 * must show the build appear, follow its log live over SSE, see it finish without a reload, and
 * the same for a job; the screenshot goes to test/artifacts/dashboard.png for review. On a farm
 * with `API_AUTH=token` (what `rnx farm up` runs) the page asks for a token, takes one from
 * `#token=…` or its form, and sends it with every request, streams included.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveChromium, launchChromium } from './chromium.js';
import { appendEvent } from '@joblet/queue';
import type { Arch, BuildEvent, JobRecord } from '@joblet/spec';
import {
  AuthKeys,
  TokenService,
  publishFakeRuntime,
  registerNode,
  startTestApi,
  type TestApi,
} from '@joblet/api/testing';

const HERE = dirname(fileURLToPath(import.meta.url));
const SCREENSHOT = join(HERE, '..', 'artifacts', 'dashboard.png');
const SPEC = readFileSync(join(HERE, '../../examples/python-3.11/runtime.yaml'), 'utf8');
const have = haveChromium('dashboard browser test');

describe.skipIf(!have)('the /ui dashboard in headless Chromium', () => {
  let t: TestApi;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    t = await startTestApi(['amd64', 'arm64'], { listen: true });
    await publishFakeRuntime(t, 'python-3.11', '1.0.0', ['amd64', 'arm64']);
    await publishFakeRuntime(t, 'openjdk-21', '1.0.0', ['amd64'], 'java', '21');
    await registerNode(t, 'node-amd', 'amd64', ['python-3.11@1.0.0', 'openjdk-21@1.0.0']);
    await registerNode(t, 'node-arm', 'arm64', []);
    await t.redis.hset(
      t.app.keys.nodeRuntimes('node-arm'),
      'python-3.11@1.0.0',
      JSON.stringify({
        name: 'python-3.11',
        version: '1.0.0',
        arch: 'arm64',
        state: 'syncing',
        updatedAt: new Date().toISOString(),
      }),
    );
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('shows a build appear, follows its log live, and sees it finish without a reload', async () => {
    await page.goto(`${t.url}/ui`);
    await page.locator('#status', { hasText: 'live' }).waitFor();
    expect(await page.locator('#runtimes tbody tr').count()).toBe(2);
    expect(
      await page.locator('#runtimes tr[data-runtime="python-3.11@1.0.0"]').innerText(),
    ).toMatch(/installed[\s\S]*syncing/);
    expect(await page.locator('#nodes tr[data-node="node-amd"]').innerText()).toMatch(/online/);

    const spec = SPEC.replace('version: 1.0.0', 'version: 1.2.0');
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/builds',
      payload: { spec, architectures: ['amd64'] },
    });
    expect(res.statusCode).toBe(202);
    const id = res.json().build.id as string;
    const row = page.locator(`#builds tr[data-build-id="${id}"]`);
    await row.waitFor({ timeout: 10_000 });
    expect(await row.getAttribute('data-state')).toBe('queued');
    await page.locator('#pools tr[data-arch="amd64"] td').nth(2).filter({ hasText: '1' }).waitFor();

    // The worker takes it: phase 1, some output.
    const arch: Arch = 'amd64';
    const events = t.app.keys.buildEvents(id);
    const emit = (e: BuildEvent) => appendEvent(t.redis, events, e);
    const phase = { n: 1, total: 11, name: 'Preparing base root' };
    await t.app.buildStore.updateArch(id, arch, {
      state: 'running',
      phase,
      startedAt: new Date().toISOString(),
    });
    await emit({ type: 'phase', arch, ...phase });
    await emit({ type: 'log', arch, stream: 'stdout', line: 'base root cached: bookworm/amd64' });
    await page.locator(`#builds tr[data-build-id="${id}"][data-state="running"]`).waitFor();

    await row.locator('button[data-log="build"]').click();
    const log = page.locator('#log-lines');
    await log.filter({ hasText: 'base root cached: bookworm/amd64' }).waitFor({ timeout: 5_000 });
    expect(await log.innerText()).toContain('[amd64] [1/11] Preparing base root');

    // More output arrives while the log is open: it appears without any reload.
    for (let i = 1; i <= 5; i++)
      await emit({ type: 'log', arch, stream: 'stdout', line: `Setting up python3-yaml (${i}/5)` });
    await log.filter({ hasText: 'Setting up python3-yaml (5/5)' }).waitFor({ timeout: 5_000 });

    // The build finishes as a worker and the publisher finish it.
    await t.app.buildStore.updateArch(id, arch, {
      state: 'succeeded',
      finishedAt: new Date().toISOString(),
    });
    await t.app.buildStore.finish(id, 'succeeded');
    await emit({ type: 'done', state: 'succeeded' });
    await page.locator(`#builds tr[data-build-id="${id}"][data-state="succeeded"]`).waitFor({
      timeout: 10_000,
    });
    await page.locator('#log-state', { hasText: 'succeeded' }).waitFor();
    expect(await log.innerText()).toContain('build succeeded');

    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(errors).toEqual([]);
  });

  it('follows a job’s output live', async () => {
    const job: JobRecord = {
      id: '66666666-6666-4666-8666-666666666666',
      state: 'QUEUED',
      command: 'python3',
      args: ['-c', 'print(42)'],
      runtime: { ref: 'python-3.11', name: 'python-3.11', version: '1.0.0' },
      arch: 'amd64',
      network: 'none',
      limits: {},
      volumes: [],
      env: [],
      uploads: [],
      createdAt: new Date().toISOString(),
    };
    const jobs = t.app.jobs.jobs;
    await jobs.create(job);
    await jobs.transition(job.id, 'INITIALIZING', { node: 'node-amd' });
    await jobs.transition(job.id, 'RUNNING', { startLatencyMs: 20 });
    await jobs.event(job.id, { type: 'out', stream: 'stdout', line: 'hello from the job' });
    const row = page.locator(`#jobs tr[data-job-id="${job.id}"][data-state="RUNNING"]`);
    await row.waitFor({ timeout: 10_000 });
    await row.locator('button[data-log="job"]').click();
    const log = page.locator('#log-lines');
    await log.filter({ hasText: 'hello from the job' }).waitFor({ timeout: 5_000 });
    await jobs.event(job.id, { type: 'out', stream: 'stdout', line: '42' });
    await jobs.transition(job.id, 'COMPLETED', { exitCode: 0, reason: 'exited' });
    await page.locator('#log-state', { hasText: 'COMPLETED' }).waitFor({ timeout: 5_000 });
    expect(await log.innerText()).toMatch(/42\n— COMPLETED \(exit 0\)/);
    await page.locator(`#jobs tr[data-job-id="${job.id}"][data-state="COMPLETED"]`).waitFor();
    expect(errors).toEqual([]);
  });
});

describe.skipIf(!have)('the /ui dashboard on a farm that wants a token', () => {
  let t: TestApi;
  let browser: Browser;
  let reader = '';
  const errors: string[] = [];

  beforeAll(async () => {
    t = await startTestApi(['amd64'], { listen: true, security: { mode: 'token' } });
    await publishFakeRuntime(t, 'python-3.11', '1.0.0', ['amd64']);
    const tokens = new TokenService(t.redis, new AuthKeys(t.prefix));
    const by = { kind: 'local', subject: 'test', role: 'admin' } as const;
    reader = (await tokens.create({ role: 'reader', ttl: '1h', name: 'ui' }, by)).token;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('asks for a token; with one it shows the farm and follows a log over the token', async () => {
    const page = await browser.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${t.url}/ui`);
    await page.locator('#status', { hasText: '401' }).waitFor();
    expect(await page.locator('#signin').isVisible()).toBe(true);

    // Signing in with the form: the token stays in this tab.
    await page.fill('#signin-token', reader);
    await page.click('#signin button[type="submit"]');
    await page.locator('#status', { hasText: 'live' }).waitFor();
    expect(await page.locator('#signin').isVisible()).toBe(false);
    expect(await page.locator('#runtimes tbody tr').count()).toBe(1);

    // A link with the token in its fragment works in a new tab, and the address loses it.
    const tab = await browser.newPage();
    await tab.goto(`${t.url}/ui#token=${reader}`);
    await tab.locator('#status', { hasText: 'live' }).waitFor();
    expect(tab.url()).toBe(`${t.url}/ui`);

    // The log stream carries the token too (EventSource could not).
    const spec = SPEC.replace('version: 1.0.0', 'version: 1.3.0');
    const maintainer = await new TokenService(t.redis, new AuthKeys(t.prefix)).create(
      { role: 'maintainer', ttl: '1h' },
      { kind: 'local', subject: 'test', role: 'admin' },
    );
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/builds',
      headers: { authorization: `Bearer ${maintainer.token}` },
      payload: { spec, architectures: ['amd64'] },
    });
    expect(res.statusCode, res.body).toBe(202);
    const id = res.json().build.id as string;
    await appendEvent(t.redis, t.app.keys.buildEvents(id), {
      type: 'log',
      arch: 'amd64',
      stream: 'stdout',
      line: 'streamed with a token',
    });
    await tab.locator(`#builds tr[data-build-id="${id}"] button[data-log="build"]`).click();
    await tab.locator('#log-lines', { hasText: 'streamed with a token' }).waitFor();
    expect(errors).toEqual([]);
  });
});
