// A job's uploads and environment values (kept beside the record under `keys.jobUploads`) and
// writing the uploads into the job's /work. Every path is validated again here — the API's check
// is not trusted — and written without ever following a link: parents are created one segment at
// a time and must be real directories, files are opened O_CREAT|O_EXCL|O_NOFOLLOW, and the
// directory reached is checked to resolve inside /work. Nothing of the job runs yet while this
// happens, so nothing can swap a directory for a link between the check and the open.
import { constants } from 'node:fs';
import { chown, lstat, mkdir, open, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Keys, RedisClient } from '@joblet/queue';
import { UPLOAD_LIMITS, UploadFile, UploadPath, type JobRecord } from '@joblet/spec';
import { JobFailure } from './job-errors.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `keys.jobUploads(jobId)`: what the API stored beside the record. */
export const JobSecrets = z.object({
  env: z.record(z.string().regex(ENV_NAME), z.string()).default({}),
  uploads: z.array(UploadFile).default([]),
});
export type JobSecrets = z.infer<typeof JobSecrets>;

/**
 * Reads and validates the job's env values and uploads. A job whose record lists uploads or env
 * names but whose secrets are gone (expired) or malformed cannot start as asked: start-failed.
 */
export async function loadJobSecrets(
  redis: RedisClient,
  keys: Keys,
  job: Pick<JobRecord, 'id' | 'uploads' | 'env'>,
): Promise<JobSecrets> {
  const raw = await redis.get(keys.jobUploads(job.id));
  if (raw === null) {
    if (job.uploads.length > 0 || job.env.length > 0) {
      throw new JobFailure('the job’s uploads and environment are gone (expired?)', 'start-failed');
    }
    return { env: {}, uploads: [] };
  }
  let parsed: ReturnType<typeof JobSecrets.safeParse>;
  try {
    parsed = JobSecrets.safeParse(JSON.parse(raw));
  } catch {
    throw new JobFailure('the job’s uploads are not valid JSON', 'start-failed');
  }
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new JobFailure(
      `the job’s uploads or environment are invalid: ${first?.path.join('.')}: ${first?.message}`,
      'start-failed',
    );
  }
  return parsed.data;
}

export interface WriteUploadsOptions {
  /** Owner of what is created (the sandbox uid, so the job may change its files); root only. */
  uid?: number;
  gid?: number;
}

function refuse(path: string, why: string): JobFailure {
  return new JobFailure(`upload ${JSON.stringify(path)}: ${why}`, 'start-failed');
}

function inside(root: string, p: string): boolean {
  return p === root || p.startsWith(`${root}/`);
}

/**
 * Writes `uploads` under `workDir` (the job's /work), creating parent directories. Throws a
 * start-failed JobFailure naming the upload on anything unsafe or over the limits; what was
 * written before stays (the whole job directory is removed when the job ends).
 */
export async function writeUploads(
  workDir: string,
  uploads: readonly UploadFile[],
  o: WriteUploadsOptions = {},
): Promise<{ files: number; bytes: number }> {
  if (uploads.length > UPLOAD_LIMITS.files) {
    throw new JobFailure(
      `${uploads.length} uploads; the limit is ${UPLOAD_LIMITS.files}`,
      'start-failed',
    );
  }
  const root = await realpath(workDir);
  const owned = o.uid !== undefined && process.getuid?.() === 0;
  const own = async (p: string) => {
    if (owned) await chown(p, o.uid!, o.gid ?? o.uid!);
  };
  let bytes = 0;
  for (const u of uploads) {
    const checked = UploadPath.safeParse(u.path);
    if (!checked.success) throw refuse(u.path, checked.error.issues[0]?.message ?? 'invalid path');
    if ((u.mode & ~0o777) !== 0) throw refuse(u.path, 'mode may hold permission bits only');
    const content = Buffer.from(u.content, 'base64');
    bytes += content.length;
    if (bytes > UPLOAD_LIMITS.totalBytes) {
      throw refuse(u.path, `uploads exceed ${UPLOAD_LIMITS.totalBytes} bytes in total`);
    }
    const segments = u.path.split('/');
    const file = segments.pop()!;
    let dir = root;
    for (const seg of segments) {
      const next = join(dir, seg);
      const st = await lstat(next).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return undefined;
        throw e;
      });
      if (st === undefined) {
        await mkdir(next, { mode: 0o755 });
        await own(next);
      } else if (!st.isDirectory()) {
        // A symlink (planted or not) is never followed, nor is a file used as a directory.
        throw refuse(u.path, `${next.slice(root.length + 1)} is not a directory`);
      }
      dir = next;
    }
    if (!inside(root, await realpath(dir))) throw refuse(u.path, 'leads outside /work');
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    const fh = await open(join(dir, file), flags, u.mode & 0o777).catch(
      (e: NodeJS.ErrnoException) => {
        if (e.code === 'EEXIST') throw refuse(u.path, 'exists already (given twice?)');
        if (e.code === 'ELOOP') throw refuse(u.path, 'is a symbolic link');
        throw refuse(u.path, e.code ?? e.message);
      },
    );
    try {
      await fh.writeFile(content);
      // The mode given to open() is filtered by the umask; the job gets exactly what was asked.
      await fh.chmod(u.mode & 0o777);
      if (owned) await fh.chown(o.uid!, o.gid ?? o.uid!);
    } finally {
      await fh.close();
    }
  }
  return { files: uploads.length, bytes };
}
