/**
 * Where an extraction runs. By default in a child process (`dist/extract-child.js`, started with
 * Node's default flags so the hot streaming loop runs at full speed even when the agent itself
 * runs with memory-saving flags); the in-process variant is the fallback when the bundle is not
 * built (unit tests from source).
 */
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@joblet/logging';
import { STAGING_INFIX, removeTree } from '@joblet/artifact';
import type { ArtifactStore } from '@joblet/storage';
import { ExtractOutcome, runExtract, type ChildStart, type ExtractRequest } from './extract-job.js';

export interface Extractor {
  /** Never rejects: failures (and aborts) come back as data. */
  extract(req: ExtractRequest, signal: AbortSignal): Promise<ExtractOutcome>;
}

export class InProcessExtractor implements Extractor {
  constructor(
    private readonly store: ArtifactStore,
    private readonly log: Logger,
  ) {}

  extract(req: ExtractRequest, signal: AbortSignal): Promise<ExtractOutcome> {
    return runExtract(this.store, req, signal, (err, attempt) =>
      this.log.warn({ err, attempt }, 'download failed; retrying'),
    );
  }
}

export interface ChildProcessExtractorOptions {
  /** Path of the bundled extract-child.js. */
  script: string;
  storageUrl: string;
  accessKey?: string;
  secretKey?: string;
  log: Logger;
}

/** The bundled child next to this module (dist/) or in ../../dist (tests run from src/runtimes/). */
export function findExtractChild(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  return [join(here, 'extract-child.js'), join(here, '../../dist/extract-child.js')].find((p) =>
    existsSync(p),
  );
}

export class ChildProcessExtractor implements Extractor {
  constructor(private readonly o: ChildProcessExtractorOptions) {}

  async extract(req: ExtractRequest, signal: AbortSignal): Promise<ExtractOutcome> {
    const child = fork(this.o.script, [], {
      // Default V8 flags (not the agent's), nothing of the agent's environment: the store's
      // credentials travel over IPC.
      execArgv: [],
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
    });
    const start: ChildStart = {
      request: req,
      storageUrl: this.o.storageUrl,
      ...(this.o.accessKey !== undefined && { accessKey: this.o.accessKey }),
      ...(this.o.secretKey !== undefined && { secretKey: this.o.secretKey }),
    };
    let outcome: ExtractOutcome | undefined;
    child.on('message', (m: unknown) => {
      const parsed = ExtractOutcome.safeParse(m);
      if (parsed.success) outcome = parsed.data;
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
      child.once('exit', (code, sig) => r({ code, signal: sig })),
    );
    // The child cleans up after SIGTERM itself; SIGKILL only if it does not within 10 s.
    const onAbort = (): void => {
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    child.send(start);
    const end = await exited;
    signal.removeEventListener('abort', onAbort);
    if (outcome) return outcome;
    // It died without answering (killed, crashed): whatever it left next to `dest` goes.
    await removeChildStaging(req.dest, child.pid);
    const why = end.signal ? `killed by ${end.signal}` : `exited with code ${end.code}`;
    this.o.log.warn({ pid: child.pid, ...end }, 'extraction child ended without an answer');
    return {
      ok: false,
      error: signal.aborted
        ? { source: 'extract', code: 'EXTRACT_ABORTED', message: 'extraction aborted' }
        : { source: 'other', code: 'CHILD_LOST', message: `the extraction process ${why}` },
    };
  }
}

async function removeChildStaging(dest: string, pid: number | undefined): Promise<void> {
  if (pid === undefined) return;
  const parent = dirname(dest);
  const prefix = `.${basename(dest)}${STAGING_INFIX}${pid}-`;
  for (const name of await readdir(parent).catch(() => [])) {
    if (name.startsWith(prefix)) await removeTree(join(parent, name));
  }
  await removeTree(dest); // renamed into place just before it died: ours, not yet published
}
