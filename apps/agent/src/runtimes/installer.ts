/**
 * Installs one runtime version from the store into `RUNTIMES_DIR/<name>/<version>`:
 * index entry → manifest (must agree with the index, and carry a valid signature by a key in
 * AGENT_TRUSTED_KEYS — before anything is downloaded) → free-disk check → stream the archive into
 * `safeExtract` (sha256 while streaming, every member checked, tree hash = the manifest's) into a
 * hidden sibling of the version dir → runtime.yml checked → rename(2) into place. A runtime is
 * either fully there or not there, and a failed install leaves nothing behind.
 *
 * A different tree already in place (a forced rebuild) is swapped: old → trash, new → place,
 * trash deleted — deferred while the old tree has live leases.
 */
import { rename } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@joblet/logging';
import { acquireFileLock } from '@joblet/sandbox';
import {
  ArtifactManifest,
  ExtractErrorCode,
  removeTree,
  shortKeyId,
  treeHash,
  verifyManifestSignatures,
  type TrustedKey,
} from '@joblet/artifact';
import type { Arch, IndexArch, RuntimeIndexEntry } from '@joblet/spec';
import {
  isStorageError,
  runtimeArchiveKey,
  runtimeManifestKey,
  withRetry,
  type ArtifactStore,
} from '@joblet/storage';
import type { Semaphore } from './concurrency.js';
import { diskShortfall, diskUsage } from '../node/disk.js';
import { AgentError, InstallFailure, InstallFailureCode } from '../errors.js';
import type { ExtractFailureData } from './extract-job.js';
import type { Extractor } from './extractor.js';
import { readInstallRecord, writeInstallRecord } from './install-record.js';
import { clearRemoving } from './removal-marker.js';
import { liveLeases, withGate } from './leases.js';
import { runtimeKey, type RuntimeLayout } from './layout.js';
import { checkRuntimeTree } from './runtime-files.js';
import type { StatusReporter } from './status-reporter.js';

export interface InstallerOptions {
  layout: RuntimeLayout;
  store: ArtifactStore;
  status: StatusReporter;
  arch: Arch;
  /** AGENT_TRUSTED_KEYS: a manifest without a valid signature by one of them is refused. */
  trustedKeys: readonly TrustedKey[];
  /** Free disk an install must leave (bytes). */
  minFreeBytes: number;
  /** Largest uncompressed tar stream accepted (bytes). */
  maxArtifactBytes: number;
  /** Bounds concurrent downloads/extractions across runtimes. */
  slots: Semaphore;
  /** Runs the download+extraction (a child process by default). */
  extractor: Extractor;
  log: Logger;
  /** How often a deferred swap looks at the old tree's leases (ms). Default 1000. */
  leasePollMs?: number;
}

export type InstallOutcome =
  | { kind: 'current'; treeHash: string }
  | { kind: 'installed'; treeHash: string; replaced: boolean; stats: InstallStats }
  | { kind: 'failed'; failure: InstallFailure };

/** Figures of one download+extraction, for logs and the benchmark. */
export interface InstallStats {
  archiveBytes: number;
  unpackedBytes: number;
  files: number;
  /** Download, decompression, extraction and checks, streamed together (ms). */
  extractMs: number;
  totalMs: number;
}

export class Installer {
  private readonly pollMs: number;

  constructor(private readonly o: InstallerOptions) {
    this.pollMs = o.leasePollMs ?? 1000;
  }

  /**
   * Makes `<name>/<version>` the tree `entry.arches[arch]` describes. Failures are reported
   * (`failed` with the reason) and returned, not thrown; an abort (shutdown) is thrown.
   */
  async install(entry: RuntimeIndexEntry, signal: AbortSignal): Promise<InstallOutcome> {
    const { name, version } = entry;
    const art = entry.arches[this.o.arch];
    const log = this.o.log.child({ runtime: runtimeKey(name, version) });
    if (!art) {
      const failure = new InstallFailure(
        `the index has no ${this.o.arch} artifact`,
        InstallFailureCode.BadManifest,
      );
      return { kind: 'failed', failure };
    }
    if (await this.isCurrent(name, version, art)) {
      await clearRemoving(this.o.layout, name, version);
      await this.o.status.report(name, version, 'installed', { treeHash: art.treeHash });
      return { kind: 'current', treeHash: art.treeHash };
    }
    const lock = await acquireFileLock(this.o.layout.lockFile(name, version), {
      signal,
      onWait: (owner) => log.info({ owner: owner?.pid }, 'waiting for another install of it'),
    });
    let incoming: string | undefined;
    try {
      // Under the lock, look again: another agent sharing the directory may have installed it.
      if (await this.isCurrent(name, version, art, true)) {
        await clearRemoving(this.o.layout, name, version);
        await this.o.status.report(name, version, 'installed', { treeHash: art.treeHash });
        return { kind: 'current', treeHash: art.treeHash };
      }
      await this.o.status.report(name, version, 'syncing');
      const started = Date.now();
      const manifest = await this.fetchManifest(entry, art, log);
      await this.checkDisk(manifest.treeBytes);
      incoming = this.o.layout.tempDir(name, version, 'incoming');
      const dest = incoming;
      const extracted = await this.o.slots.use(() => this.extract(manifest, dest, signal));
      await checkRuntimeTree(incoming, name, version, this.o.arch).catch((err: unknown) => {
        throw new InstallFailure((err as Error).message, InstallFailureCode.InvalidRuntime);
      });
      const replaced = await this.o.layout.isInstalled(name, version);
      if (replaced) await this.swap(name, version, incoming, signal, log);
      else await rename(incoming, this.o.layout.versionDir(name, version));
      incoming = undefined;
      await writeInstallRecord(this.o.layout, {
        name,
        version,
        arch: this.o.arch,
        treeHash: manifest.treeHash,
        sha256: manifest.sha256,
        treeBytes: manifest.treeBytes,
        installedAt: new Date().toISOString(),
      });
      await clearRemoving(this.o.layout, name, version);
      await this.o.status.report(name, version, 'installed', { treeHash: manifest.treeHash });
      const stats = { ...extracted, totalMs: Date.now() - started };
      log.info({ treeHash: manifest.treeHash, replaced, ...stats }, 'runtime installed');
      await this.o.status.observeSync(stats.totalMs / 1000);
      return { kind: 'installed', treeHash: manifest.treeHash, replaced, stats };
    } catch (err) {
      if (signal.aborted) {
        // Shutdown, not a verdict on the runtime: the next start finishes the install.
        throw err;
      }
      const failure = toFailure(err);
      log.warn(
        { code: failure.code, err: failure.message, ...failure.details },
        'runtime install failed',
      );
      await this.o.status.report(name, version, 'failed', { failure: failure.toData() });
      await this.o.status.countSyncFailure();
      return { kind: 'failed', failure };
    } finally {
      if (incoming !== undefined) await removeTree(incoming).catch(() => undefined);
      // A first install that failed leaves no empty `<name>/` (it made it for its staging).
      await this.o.layout.removeNameDirIfEmpty(name);
      await lock.release();
    }
  }

  /**
   * True when the tree in place is `art`'s: by its install record, or — with `verify`, for a
   * tree without one (a crash between rename and record) — by hashing the tree itself.
   */
  private async isCurrent(
    name: string,
    version: string,
    art: IndexArch,
    verify = false,
  ): Promise<boolean> {
    const { layout } = this.o;
    if (!(await layout.isInstalled(name, version))) return false;
    const rec = await readInstallRecord(layout, name, version);
    if (rec) return rec.treeHash === art.treeHash && rec.arch === this.o.arch;
    if (!verify) return false;
    const actual = await treeHash(layout.versionDir(name, version));
    if (actual !== art.treeHash) return false;
    const yml = await checkRuntimeTree(layout.versionDir(name, version), name, version, this.o.arch)
      .then(() => true)
      .catch(() => false);
    if (!yml) return false;
    await writeInstallRecord(layout, {
      name,
      version,
      arch: this.o.arch,
      treeHash: actual,
      sha256: art.sha256,
      treeBytes: art.treeBytes,
      installedAt: new Date().toISOString(),
    });
    return true;
  }

  /**
   * The manifest, checked against the index entry (a stale or swapped manifest is refused) and
   * its signature against the trusted keys (an archive replaced together with the checksums in
   * its manifest and index entry is refused too: the signature covers them).
   */
  private async fetchManifest(
    entry: RuntimeIndexEntry,
    art: IndexArch,
    log: Logger,
  ): Promise<ArtifactManifest> {
    const key = runtimeManifestKey(entry.name, entry.version, this.o.arch);
    const raw = await withRetry(() => this.o.store.getJson<unknown>(key)).catch((err: unknown) => {
      throw storeFailure(`reading ${key}`, err);
    });
    if (raw === undefined) {
      throw new InstallFailure(`manifest ${key} is missing`, InstallFailureCode.BadManifest);
    }
    const parsed = ArtifactManifest.safeParse(raw);
    if (!parsed.success) {
      throw new InstallFailure(`manifest ${key} is invalid`, InstallFailureCode.BadManifest);
    }
    const m = parsed.data;
    const diffs: string[] = [];
    if (m.name !== entry.name || m.version !== entry.version) diffs.push('runtime');
    if (m.arch !== this.o.arch) diffs.push('arch');
    if (m.sha256 !== art.sha256) diffs.push('sha256');
    if (m.treeHash !== art.treeHash) diffs.push('treeHash');
    if (diffs.length > 0) {
      throw new InstallFailure(
        `manifest ${key} does not match the index entry (${diffs.join(', ')})`,
        InstallFailureCode.BadManifest,
      );
    }
    const verdict = verifyManifestSignatures(m, this.o.trustedKeys);
    if (!verdict.ok) {
      const trusted = this.o.trustedKeys.map((k) => shortKeyId(k.keyId)).join(', ') || 'none';
      throw new InstallFailure(
        `manifest ${key} ${verdict.reason}; trusted keys: ${trusted} (AGENT_TRUSTED_KEYS)`,
        InstallFailureCode.BadSignature,
        {
          details: {
            signedBy: (m.signatures ?? []).map((s) => s.keyId),
            trustedKeys: this.o.trustedKeys.map((k) => k.keyId),
          },
        },
      );
    }
    // The full key id (sha256 of the public key DER), as the publisher's log names it.
    log.info({ keyId: verdict.keyId }, 'manifest signature verified');
    if (m.treeBytes > this.o.maxArtifactBytes) {
      throw new InstallFailure(
        `the runtime unpacks to ${m.treeBytes} bytes, more than AGENT_MAX_ARTIFACT_MB allows`,
        InstallFailureCode.TooLarge,
      );
    }
    return m;
  }

  private async checkDisk(needBytes: number): Promise<void> {
    const usage = await diskUsage(this.o.layout.root);
    const why = diskShortfall(this.o.layout.root, usage, needBytes, this.o.minFreeBytes);
    if (why !== undefined) throw new InstallFailure(why, InstallFailureCode.NoDisk);
  }

  /** Streams the archive from the store through safeExtract into `dest` (see Extractor). */
  private async extract(
    m: ArtifactManifest,
    dest: string,
    signal: AbortSignal,
  ): Promise<Omit<InstallStats, 'totalMs'>> {
    const t0 = Date.now();
    const r = await this.o.extractor.extract(
      {
        archiveKey: runtimeArchiveKey(m.name, m.version, this.o.arch),
        dest,
        expectedSha256: m.sha256,
        expectedTreeHash: m.treeHash,
        maxBytes: this.o.maxArtifactBytes,
      },
      signal,
    );
    signal.throwIfAborted();
    if (!r.ok) throw extractFailure(r.error);
    return {
      archiveBytes: r.stats.archiveBytes,
      unpackedBytes: r.stats.unpackedBytes,
      files: r.stats.files,
      extractMs: Date.now() - t0,
    };
  }

  /** Replaces the tree in place by `incoming` once nothing holds a lease on the old one. */
  private async swap(
    name: string,
    version: string,
    incoming: string,
    signal: AbortSignal,
    log: Logger,
  ): Promise<void> {
    const { layout } = this.o;
    const place = layout.versionDir(name, version);
    let waitingLogged = false;
    for (;;) {
      signal.throwIfAborted();
      const trash = await withGate(layout, name, version, async () => {
        const live = await liveLeases(layout, name, version);
        if (live.length > 0) {
          if (!waitingLogged) log.info({ leases: live.length }, 'replacement waits for leases');
          waitingLogged = true;
          return undefined;
        }
        const t = layout.tempDir(name, version, 'trash');
        await rename(place, t);
        try {
          await rename(incoming, place);
        } catch (err) {
          await rename(t, place); // put the old tree back rather than leave nothing
          throw err;
        }
        return t;
      });
      if (trash !== undefined) {
        await removeTree(trash);
        return;
      }
      await sleep(this.pollMs, undefined, { signal });
    }
  }
}

function storeFailure(what: string, err: unknown): InstallFailure {
  return new InstallFailure(
    `${what} failed: ${(err as Error).message}`,
    InstallFailureCode.StoreFailed,
    { cause: err },
  );
}

const EXTRACT_FAILURES: Readonly<Record<string, InstallFailureCode>> = {
  [ExtractErrorCode.ChecksumMismatch]: InstallFailureCode.ChecksumMismatch,
  [ExtractErrorCode.UnsafeEntry]: InstallFailureCode.UnsafeEntry,
  [ExtractErrorCode.TreeHashMismatch]: InstallFailureCode.TreeHashMismatch,
  [ExtractErrorCode.TooLarge]: InstallFailureCode.TooLarge,
  [ExtractErrorCode.SourceFailed]: InstallFailureCode.StoreFailed,
};

/** An extraction's failure (data from the extraction process) as the failure to report. */
function extractFailure(e: ExtractFailureData): InstallFailure {
  if (e.source === 'storage') {
    return new InstallFailure(
      `reading the archive failed: ${e.message}`,
      InstallFailureCode.StoreFailed,
    );
  }
  const code =
    (e.source === 'extract' ? EXTRACT_FAILURES[e.code] : undefined) ??
    InstallFailureCode.ExtractFailed;
  const prefix = code === InstallFailureCode.ChecksumMismatch ? 'checksum mismatch: ' : '';
  return new InstallFailure(`${prefix}${e.message}`, code, {
    ...(e.entry !== undefined && { details: { entry: e.entry } }),
  });
}

/** Any error of an install as the failure to report. */
function toFailure(err: unknown): InstallFailure {
  if (err instanceof InstallFailure) return err;
  if (isStorageError(err)) return storeFailure('reading the store', err);
  if (err instanceof AgentError) {
    return new InstallFailure(err.message, InstallFailureCode.InvalidRuntime, { cause: err });
  }
  return new InstallFailure(
    `install failed: ${(err as Error).message}`,
    InstallFailureCode.ExtractFailed,
    { cause: err },
  );
}
