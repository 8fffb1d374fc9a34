/**
 * `rnx runtime test`: runs the runtime's language binary with its version arguments (the base
 * catalog's `binary versionArgs`: `python3 --version`, `java -version`, `node --version`, ...) in
 * the runtime's sandbox on this node, under a lease so the runtime cannot go away meanwhile.
 */
import { chown, mkdir, mkdtemp } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@joblet/logging';
import { NOBODY, removeTree, sandboxSetupFailed } from '@joblet/sandbox';
import {
  LANGUAGE_DEFAULTS,
  builtinCatalog,
  findCatalogEntry,
  type BaseCatalog,
  type RuntimeYml,
} from '@joblet/spec';
import { randomBytes } from 'node:crypto';
import { AgentError, AgentErrorCode } from './errors.js';
import { assertRuntimeId, type RuntimeLayout } from './layout.js';
import { acquireRuntimeLease } from './leases.js';
import { loadRuntimeYml } from './runtime-files.js';
import { type RuntimeSandbox } from './runtime-sandbox.js';

export interface RuntimeTestResult {
  /** argv run inside the sandbox. */
  command: string[];
  /** The command's exit code; 128+N when killed by signal N. */
  exitCode: number;
  /** stdout and stderr lines in the order they came (capped). */
  output: string;
  durationMs: number;
}

export interface RuntimeTesterOptions {
  layout: RuntimeLayout;
  sandbox: RuntimeSandbox;
  /** Parent of per-run work dirs (bound at /work). */
  workDir: string;
  catalog?: BaseCatalog;
  /** Default 60 000 (a JVM on a loaded node). */
  timeoutMs?: number;
  log: Logger;
}

/** Output kept per test (bytes). */
const MAX_OUTPUT_BYTES = 64 * 1024;

/** The command that proves a runtime works: the catalog's, else the language default. */
export function versionCommand(yml: RuntimeYml, catalog: BaseCatalog = builtinCatalog): string[] {
  const entry =
    findCatalogEntry(catalog, yml.language, yml.language_version) ??
    LANGUAGE_DEFAULTS[yml.language];
  return [entry.binary, ...entry.versionArgs];
}

export class RuntimeTester {
  constructor(private readonly o: RuntimeTesterOptions) {}

  async test(name: string, version: string, signal?: AbortSignal): Promise<RuntimeTestResult> {
    assertRuntimeId(name, version);
    const { layout } = this.o;
    const holder = `test-${randomBytes(6).toString('hex')}`;
    const lease = await acquireRuntimeLease(layout.root, name, version, holder);
    let work: string | undefined;
    try {
      const runtimeDir = layout.versionDir(name, version);
      const yml = await loadRuntimeYml(runtimeDir);
      const [cmd, ...args] = versionCommand(yml, this.o.catalog);
      work = await this.makeWorkDir();
      const lines: string[] = [];
      let kept = 0;
      const started = Date.now();
      const handle = await this.o.sandbox.start({
        runtimeDir,
        runtimeYml: yml,
        workDir: work,
        command: cmd!,
        args,
        timeoutMs: this.o.timeoutMs ?? 60_000,
        maxBufferBytes: MAX_OUTPUT_BYTES,
        ...(signal && { signal }),
        onLine: (line) => {
          if (kept > MAX_OUTPUT_BYTES) return;
          kept += line.length + 1;
          lines.push(line);
        },
      });
      const r = await handle.result;
      if (sandboxSetupFailed(r)) {
        throw new AgentError(
          `the sandbox could not be set up: ${r.stderr.trim()}`,
          AgentErrorCode.SandboxSetupFailed,
        );
      }
      const exitCode =
        r.code ?? 128 + (r.signal ? ((constants.signals[r.signal] as number | undefined) ?? 0) : 0);
      if (r.timedOut) lines.push(`(timed out after ${this.o.timeoutMs ?? 60_000} ms)`);
      this.o.log.info({ runtime: `${name}@${version}`, exitCode }, 'runtime tested');
      return {
        command: [cmd!, ...args],
        exitCode,
        output: lines.join('\n'),
        durationMs: Date.now() - started,
      };
    } finally {
      if (work !== undefined) await removeTree(work).catch(() => undefined);
      await lease.release();
    }
  }

  /** A fresh /work owned by the sandbox uid, under a parent only root can list. */
  private async makeWorkDir(): Promise<string> {
    await mkdir(this.o.workDir, { recursive: true, mode: 0o711 });
    const dir = await mkdtemp(join(this.o.workDir, 'test-'));
    if (process.getuid?.() === 0) await chown(dir, NOBODY, NOBODY);
    return dir;
  }
}
