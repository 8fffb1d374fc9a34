/**
 * The jobs bench's client side: submitting jobs to the API, following their SSE log streams and
 * waiting for their records to end, as a user of the API does.
 */
import type { TestApi } from '../apps/api/src/testing.js';
import type { JobStore } from '@joblet/queue';
import { FINAL_JOB_STATES, type JobRecord, type JobRequest } from '@joblet/spec';

export async function post(api: TestApi, body: JobRequest): Promise<JobRecord> {
  const res = await fetch(`${api.url}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 202) throw new Error(`POST /v1/jobs: ${res.status} ${await res.text()}`);
  return (await res.json()) as JobRecord;
}

/** Reads the job's SSE log stream until `until` accepts an event; returns that event. */
export async function follow(
  api: TestApi,
  id: string,
  until: (e: { type: string; line?: string }) => boolean,
): Promise<{ type: string; line?: string }> {
  const abort = new AbortController();
  const res = await fetch(`${api.url}/v1/jobs/${id}/logs`, {
    headers: { accept: 'text/event-stream' },
    signal: abort.signal,
  });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`log stream of ${id} ended early`);
      buf += decoder.decode(value, { stream: true });
      let sep: number;
      while ((sep = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, sep);
        buf = buf.slice(sep + 2);
        const data = block
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trim())
          .join('\n');
        if (!data) continue;
        const e = JSON.parse(data) as { type: string; line?: string };
        if (until(e)) return e;
      }
    }
  } finally {
    abort.abort();
  }
}

export async function waitFinal(
  store: JobStore,
  ids: string[],
  timeoutMs = 300_000,
): Promise<void> {
  const pending = new Set(ids);
  const deadline = Date.now() + timeoutMs;
  while (pending.size > 0) {
    if (Date.now() > deadline) throw new Error(`${pending.size} jobs did not end`);
    for (const id of [...pending]) {
      const r = await store.get(id);
      if (r && FINAL_JOB_STATES.includes(r.state)) pending.delete(id);
    }
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 20));
  }
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

export async function runToEnd(
  api: TestApi,
  store: JobStore,
  body: JobRequest,
): Promise<{ ms: number; rec: JobRecord }> {
  const t = performance.now();
  const job = await post(api, body);
  await follow(api, job.id, (e) => e.type === 'end');
  const ms = performance.now() - t;
  const rec = (await store.get(job.id))!;
  if (rec.state !== 'COMPLETED')
    throw new Error(`${body.command} ended ${rec.state}: ${rec.message}`);
  return { ms, rec };
}
