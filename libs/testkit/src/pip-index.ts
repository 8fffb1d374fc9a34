/**
 * A local PEP 503 "simple" package index over HTTP (PyPI is not reachable from the farm's test
 * machines): one tiny pure-Python wheel, built offline with Debian's interpreter. It listens on
 * the host's non-loopback address by default: build sandboxes cannot reach the host's loopback.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { sandboxReachableHost } from './host-address.js';

const exec = promisify(execFile);

export interface PipIndex {
  /** `http://<host>:<port>/simple/` */
  url: string;
  /** Requests served, e.g. to check the cache was used. */
  requests: string[];
  /** While true, every request is answered 503 (an index outage). */
  failing: boolean;
  close(): Promise<void>;
}

/** Builds `<name>-<version>` with module `<module>` defining GREETING, into `dir`/wheels. */
export async function buildWheel(dir: string, name: string, version: string, module: string) {
  const src = join(dir, `${name}-src`);
  await mkdir(src, { recursive: true });
  await writeFile(join(src, `${module}.py`), `GREETING = 'hello from ${name} ${version}'\n`);
  await writeFile(
    join(src, 'setup.py'),
    `from setuptools import setup\nsetup(name='${name}', version='${version}', py_modules=['${module}'])\n`,
  );
  const out = join(dir, 'wheels');
  // Debian's interpreter has setuptools and wheel (the pyenv python3 first on PATH lacks wheel).
  await exec(
    '/usr/bin/python3',
    ['-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q', '-w', out, src],
    {
      cwd: dir,
      timeout: 120_000,
    },
  );
  return out;
}

/**
 * Serves every wheel in `wheelDir` under /simple/<normalized name>/ with sha256 fragments, on
 * `host` (default: {@link sandboxReachableHost}, what build sandboxes reach).
 */
export async function startPipIndex(
  wheelDir: string,
  host: string = sandboxReachableHost(),
): Promise<PipIndex> {
  const files = new Map<string, Buffer>();
  for (const f of await readdir(wheelDir)) {
    if (f.endsWith('.whl')) files.set(f, await readFile(join(wheelDir, f)));
  }
  const norm = (s: string) => s.toLowerCase().replace(/[-_.]+/g, '-');
  const requests: string[] = [];
  const state = { failing: false };
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/';
    requests.push(url);
    if (state.failing) {
      res.statusCode = 503;
      res.end('index down for maintenance');
      return;
    }
    res.setHeader('content-type', 'text/html; charset=utf-8');
    const project = /^\/simple\/([^/]+)\/?$/.exec(url)?.[1];
    if (url === '/simple/' || url === '/simple') {
      const names = [...new Set([...files.keys()].map((f) => norm(f.split('-')[0]!)))];
      res.end(
        `<html><body>${names.map((n) => `<a href="/simple/${n}/">${n}</a>`).join('')}</body></html>`,
      );
    } else if (project) {
      const links = [...files.entries()]
        .filter(([f]) => norm(f.split('-')[0]!) === norm(project))
        .map(
          ([f, b]) =>
            `<a href="/files/${f}#sha256=${createHash('sha256').update(b).digest('hex')}">${f}</a>`,
        );
      if (links.length === 0) {
        res.statusCode = 404;
        res.end('not found');
      } else res.end(`<html><body>${links.join('\n')}</body></html>`);
    } else if (url.startsWith('/files/') && files.has(url.slice(7))) {
      res.setHeader('content-type', 'application/octet-stream');
      res.end(files.get(url.slice(7)));
    } else {
      res.statusCode = 404;
      res.end('not found');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/simple/`,
    requests,
    get failing() {
      return state.failing;
    },
    set failing(v: boolean) {
      state.failing = v;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
