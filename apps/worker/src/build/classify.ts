/**
 * Why a package manager failed, from its output: a package that does not exist (or a version
 * that does not) fails the build at once; network and mirror trouble is retried. Unknown
 * failures are retried too: a transient fault wrongly taken as permanent would fail a good
 * build, while the reverse only costs the remaining attempts.
 */
import type { RunResult } from '@joblet/sandbox';
import { BuildFailure, outputTail } from './build-failure.js';

export type PackageTool = 'apt' | 'pip' | 'npm';

interface Rule {
  re: RegExp;
  /** What to say, given the match. */
  say: (m: RegExpExecArray) => string;
}

const PERMANENT: Record<PackageTool, Rule[]> = {
  apt: [
    { re: /Unable to locate package (\S+)/, say: (m) => `package "${m[1]}" does not exist` },
    {
      re: /Package '?([^'\s]+)'? has no installation candidate/,
      say: (m) => `package "${m[1]}" has no installation candidate`,
    },
    {
      re: /Version '([^']+)' for '([^']+)' was not found/,
      say: (m) => `version ${m[1]} of package "${m[2]}" does not exist`,
    },
    { re: /unmet dependencies|held broken packages/, say: () => 'unmet dependencies' },
    {
      re: /Sub-process \/usr\/bin\/dpkg returned an error code/,
      say: () => 'dpkg failed to install a package',
    },
  ],
  pip: [
    {
      re: /No matching distribution found for (\S+)/,
      say: (m) => `no distribution of "${m[1]}" matches`,
    },
    { re: /ResolutionImpossible/, say: () => 'conflicting requirements' },
    { re: /Invalid requirement: (.+)/, say: (m) => `invalid requirement ${m[1]}` },
    {
      re: /subprocess-exited-with-error|Failed building wheel for (\S+)/,
      say: (m) => (m[1] ? `building "${m[1]}" failed` : 'building a package failed'),
    },
  ],
  npm: [
    {
      re: /404 Not Found - GET \S+ - Not found|E404|is not in this registry/,
      say: () => 'a package does not exist in the registry',
    },
    {
      re: /No matching version found for (\S+)/,
      say: (m) => `no version of ${m[1]} matches`,
    },
    { re: /ETARGET/, say: () => 'no matching version' },
    { re: /ERESOLVE/, say: () => 'conflicting dependencies' },
    { re: /EBADPLATFORM/, say: () => 'a package does not support this platform' },
  ],
};

/** Seen before a permanent-looking message, these mean the index was not even reachable. */
const TRANSIENT =
  /Temporary failure (in name )?resolution|Could not resolve|Failed to establish a new connection|NewConnectionError|ConnectionError|Connection (timed out|refused|reset|failed)|ReadTimeoutError|Max retries exceeded|Network is unreachable|ECONNRESET|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|ENOTFOUND|socket hang up|Hash Sum mismatch|Failed to fetch|Unable to connect|\b50[0234] (Internal Server Error|Bad Gateway|Service Unavailable|Gateway Time-?out)|\bE50[0234]\b|Could not connect/;

/** Turns a failed install command into a BuildFailure with the output's tail as details. */
export function packageFailure(tool: PackageTool, what: string, r: RunResult): BuildFailure {
  const output = `${r.stdout}\n${r.stderr}`;
  const details = outputTail(output);
  if (r.timedOut) {
    return new BuildFailure('PACKAGE_INSTALL_FAILED', `${what}: timed out`, {
      details,
      retryable: true,
    });
  }
  const transient = TRANSIENT.test(output);
  for (const rule of transient ? [] : PERMANENT[tool]) {
    const m = rule.re.exec(output);
    if (m) {
      return new BuildFailure('PACKAGE_INSTALL_FAILED', `${what}: ${rule.say(m)}`, {
        details,
        retryable: false,
      });
    }
  }
  const how = r.signal ? `was killed by ${r.signal}` : `exited with code ${r.code}`;
  const reason = transient ? 'network or mirror trouble' : how;
  return new BuildFailure('PACKAGE_INSTALL_FAILED', `${what}: ${reason}`, {
    details,
    retryable: true,
  });
}
