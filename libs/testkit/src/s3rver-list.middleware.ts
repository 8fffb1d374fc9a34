// s3rver 3.7.1 makes ListObjectsV2's continuation token with the DES cipher, which OpenSSL 3
// (Node 17+) no longer offers: every `list-type=2` listing that is truncated answers 500. Seen: an
// API restarted against a bucket of two objects could not start, as its store check lists one
// key (`max-keys=1`). This middleware asks s3rver for a full page (1000 keys) instead of fewer, so
// such a listing is not truncated: a client gets more keys than it asked for, and every key once.
import type { KoaMiddleware } from './s3rver.js';

const PAGE = 1000;

/** Koa middleware for s3rver; put it first: `server.middleware.unshift(listV2CompatMiddleware())`. */
export function listV2CompatMiddleware(): KoaMiddleware {
  return (ctx, next) => {
    const maxKeys = ctx.query['max-keys'];
    if (
      ctx.method === 'GET' &&
      ctx.query['list-type'] === '2' &&
      typeof maxKeys === 'string' &&
      /^\d+$/.test(maxKeys) &&
      Number(maxKeys) > 0 &&
      Number(maxKeys) < PAGE
    ) {
      ctx.query = { ...ctx.query, 'max-keys': String(PAGE) };
    }
    return next();
  };
}
