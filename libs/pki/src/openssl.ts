/**
 * Runs Debian's `openssl` CLI: argument arrays, never a shell, so nothing in a name or path is
 * interpreted. The crypto is openssl's; this module only arranges files.
 */
import { execFile } from 'node:child_process';
import { PkiError, PkiErrorCode } from './errors.js';

export function openssl(args: string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      reject(
        new PkiError(
          missing
            ? 'the openssl command is not installed (apt-get install openssl)'
            : `openssl ${args[0]} failed: ${stderr.trim().split('\n').slice(-3).join(' / ') || err.message}`,
          PkiErrorCode.OpensslFailed,
          { cause: err },
        ),
      );
    });
  });
}
