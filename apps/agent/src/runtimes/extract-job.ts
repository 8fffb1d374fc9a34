/**
 * One download+extraction: stream an artifact from the store into `safeExtract` (sha256 while
 * streaming, every member checked, tree hash compared, staging next to `dest`, rename into
 * `dest`), retried on transient store errors. Runs in a child process (extract-child.ts) or, as a
 * fallback, in the agent itself. What crosses the process boundary is data: the request and
 * {@link ExtractOutcome}.
 */
import { chmod, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { ExtractError, ExtractErrorCode, safeExtract } from '@joblet/artifact';
import { isRetryableError, isStorageError, withRetry, type ArtifactStore } from '@joblet/storage';

export const ExtractRequest = z.object({
  /** Store key of the tar.zst archive. */
  archiveKey: z.string(),
  /** Must not exist; its parent is created (0755) when missing. */
  dest: z.string().startsWith('/'),
  expectedSha256: z.string().regex(/^[0-9a-f]{64}$/),
  expectedTreeHash: z.string(),
  /** Largest uncompressed tar stream accepted (bytes). */
  maxBytes: z.number().int().positive(),
});
export type ExtractRequest = z.infer<typeof ExtractRequest>;

/** The one message the extraction child receives: the request and where the store is. */
export const ChildStart = z.object({
  request: ExtractRequest,
  storageUrl: z.string(),
  accessKey: z.string().optional(),
  secretKey: z.string().optional(),
});
export type ChildStart = z.infer<typeof ChildStart>;

/** Figures of a successful extraction. */
export const ExtractStats = z.object({
  archiveBytes: z.number(),
  unpackedBytes: z.number(),
  files: z.number(),
  treeHash: z.string(),
});
export type ExtractStats = z.infer<typeof ExtractStats>;

/** Why it failed, as data: `source` says which library's code `code` is. */
export const ExtractFailureData = z.object({
  source: z.enum(['extract', 'storage', 'other']),
  code: z.string(),
  message: z.string(),
  entry: z.string().optional(),
});
export type ExtractFailureData = z.infer<typeof ExtractFailureData>;

export const ExtractOutcome = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), stats: ExtractStats }),
  z.object({ ok: z.literal(false), error: ExtractFailureData }),
]);
export type ExtractOutcome = z.infer<typeof ExtractOutcome>;

/** Runs the extraction; never throws (an abort is reported as EXTRACT_ABORTED). */
export async function runExtract(
  store: ArtifactStore,
  req: ExtractRequest,
  signal?: AbortSignal,
  onRetry?: (err: unknown, attempt: number) => void,
): Promise<ExtractOutcome> {
  try {
    const r = await withRetry(
      async () => {
        const parent = dirname(req.dest);
        // The name dir may have just gone with its last version (another agent removed it).
        if ((await mkdir(parent, { recursive: true, mode: 0o755 })) !== undefined) {
          await chmod(parent, 0o755);
        }
        const body = await store.get(req.archiveKey);
        return safeExtract(body, req.dest, {
          expectedSha256: req.expectedSha256,
          expectedTreeHash: req.expectedTreeHash,
          treeHash: true,
          symlinks: 'rooted',
          // A runtime's tree must be normalised: nothing writable by others, all owned by 0:0.
          normalised: true,
          maxBytes: req.maxBytes,
          ...(signal && { signal }),
        });
      },
      {
        attempts: 3,
        ...(signal && { signal }),
        retryIf: (err) =>
          isRetryableError(err) ||
          (err instanceof ExtractError && err.code === ExtractErrorCode.SourceFailed) ||
          (err as NodeJS.ErrnoException).code === 'ENOENT',
        ...(onRetry && { onRetry }),
      },
    );
    return {
      ok: true,
      stats: {
        archiveBytes: r.bytes,
        unpackedBytes: r.unpackedBytes,
        files: r.files,
        treeHash: r.treeHash ?? '',
      },
    };
  } catch (err) {
    return { ok: false, error: failureData(err, signal) };
  }
}

function failureData(err: unknown, signal?: AbortSignal): ExtractFailureData {
  if (err instanceof ExtractError) {
    return {
      source: 'extract',
      code: err.code,
      message: err.message,
      ...(err.entry !== undefined && { entry: err.entry }),
    };
  }
  if (signal?.aborted) {
    return { source: 'extract', code: ExtractErrorCode.Aborted, message: 'extraction aborted' };
  }
  if (isStorageError(err)) return { source: 'storage', code: err.code, message: err.message };
  return { source: 'other', code: 'ERROR', message: (err as Error).message ?? String(err) };
}
