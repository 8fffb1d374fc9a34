/**
 * `/ui`: the farm dashboard — one HTML page, one script, one stylesheet, served from
 * memory with an ETag. The files live in `static/` beside this file (run from source, as tests do) and are
 * copied to `dist/ui/` by the build (`scripts/copy-ui.mjs`), next to the bundled `index.js`.
 * The files are `public`: they hold no farm data, and a browser opening the page cannot send a
 * token yet. Everything the page shows comes from `/v1/…` with the caller's own credentials
 * (reader at least), which the page sends as `Authorization: Bearer` (see `static/app.js`).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';

const FILES = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
} as const;
type UiFile = keyof typeof FILES;

/** The page talks only to this origin; nothing may frame it. */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

interface Asset {
  body: Buffer;
  etag: string;
  type: string;
}

/** Where the static files are: beside this module in the source tree, or `ui/` in `dist/`. */
export function findUiDir(): string {
  const candidates = [new URL('./static/', import.meta.url), new URL('./ui/', import.meta.url)];
  for (const c of candidates) {
    const dir = fileURLToPath(c);
    if (existsSync(`${dir}index.html`)) return dir;
  }
  throw new Error(
    `dashboard files not found in ${candidates.map((c) => fileURLToPath(c)).join(' or ')}: ` +
      'build the API with `npm run build -w @joblet/api`',
  );
}

export function loadAssets(dir = findUiDir()): Map<UiFile, Asset> {
  const assets = new Map<UiFile, Asset>();
  for (const [name, type] of Object.entries(FILES) as [UiFile, string][]) {
    const body = readFileSync(`${dir}${name}`);
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    assets.set(name, { body, etag, type });
  }
  return assets;
}

// eslint-disable-next-line @typescript-eslint/require-await
const route: FastifyPluginAsync = async (app) => {
  const assets = loadAssets();
  const serve = (name: UiFile) => async (request: FastifyRequest, reply: FastifyReply) => {
    const a = assets.get(name)!;
    void reply.headers({ ...SECURITY_HEADERS, etag: a.etag, 'cache-control': 'no-cache' });
    if (request.headers['if-none-match'] === a.etag) return reply.status(304).send();
    return reply.type(a.type).send(a.body);
  };
  const open = { config: { role: 'public' as const } };
  app.get('/ui', open, serve('index.html'));
  app.get('/ui/', open, serve('index.html'));
  app.get('/ui/app.js', open, serve('app.js'));
  app.get('/ui/app.css', open, serve('app.css'));
  app.get('/ui/favicon.svg', open, serve('favicon.svg'));
};
export default route;
