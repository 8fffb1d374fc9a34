/**
 * Files for `--upload` and `--upload-dir`: read from disk into the request, placed under /work by
 * their base name (a file) or with their directory's name (a dir). Symlinks, devices and anything
 * outside regular files and directories are refused, never followed.
 */
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { UPLOAD_LIMITS, type UploadFile } from '@joblet/spec';
import { UsageError } from '../errors.js';

export function collectUploads(files: string[], dirs: string[]): UploadFile[] {
  const out: UploadFile[] = [];
  let total = 0;
  const add = (abs: string, path: string) => {
    const st = lstatSync(abs);
    if (st.isSymbolicLink())
      throw new UsageError(
        `--upload: ${abs} is a symbolic link; upload the file it points to instead`,
      );
    if (!st.isFile()) throw new UsageError(`--upload: ${abs} is not a regular file`);
    total += st.size;
    if (total > UPLOAD_LIMITS.totalBytes) {
      throw new UsageError(
        `uploads exceed ${UPLOAD_LIMITS.totalBytes / 1024 / 1024} MiB; use a volume for large data`,
      );
    }
    out.push({ path, content: readFileSync(abs).toString('base64'), mode: st.mode & 0o755 });
  };
  for (const f of files) {
    try {
      add(f, basename(f));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw new UsageError(`--upload: ${f}: no such file`);
      throw err;
    }
  }
  for (const d of dirs) {
    const root = d.replace(/\/+$/, '');
    let st;
    try {
      st = lstatSync(root);
    } catch {
      throw new UsageError(`--upload-dir: ${d}: no such directory`);
    }
    if (!st.isDirectory()) throw new UsageError(`--upload-dir: ${d} is not a directory`);
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
        a.name.localeCompare(b.name),
      )) {
        const abs = join(dir, entry.name);
        if (entry.isDirectory()) walk(abs);
        else add(abs, join(basename(root), relative(root, abs)));
        if (out.length > UPLOAD_LIMITS.files)
          throw new UsageError(`more than ${UPLOAD_LIMITS.files} files to upload`);
      }
    };
    walk(root);
  }
  return out;
}
