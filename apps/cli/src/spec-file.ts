/** Finding and reading a runtime spec named on the command line. */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_SPEC_BYTES } from '@joblet/spec';
import { UsageError } from './errors.js';

/** `runtime.yaml` first, then `runtime.yml`, as the guide names them. */
export const SPEC_FILE_NAMES = ['runtime.yaml', 'runtime.yml'] as const;

/** A file is itself; a directory means its runtime.yaml, then runtime.yml. */
export function resolveSpecPath(target: string): string {
  const st = statOrUndefined(target);
  if (!st) throw new UsageError(`${target}: no such file or directory`);
  if (st.isFile()) return target;
  if (!st.isDirectory()) throw new UsageError(`${target}: not a file or directory`);
  for (const name of SPEC_FILE_NAMES) {
    const candidate = join(target, name);
    if (statOrUndefined(candidate)?.isFile()) return candidate;
  }
  throw new UsageError(`${target}: no ${SPEC_FILE_NAMES.join(' or ')} in this directory`);
}

/**
 * Reads at most one byte more than the spec limit: enough for the validator to report "too large"
 * with the real size, without ever reading a huge file into memory.
 */
export function readSpecBytes(path: string): { bytes: Uint8Array; size: number } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new UsageError(`${path}: ${(err as NodeJS.ErrnoException).code ?? 'cannot open'}`, {
      cause: err,
    });
  }
  try {
    const size = statSync(path).size;
    const buf = Buffer.alloc(Math.min(size, MAX_SPEC_BYTES + 1));
    let read = 0;
    while (read < buf.length) {
      const n = readSync(fd, buf, read, buf.length - read, read);
      if (n === 0) break;
      read += n;
    }
    return { bytes: buf.subarray(0, read), size };
  } finally {
    closeSync(fd);
  }
}

function statOrUndefined(path: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}
