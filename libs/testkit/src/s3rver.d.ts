// Types for the part of s3rver 3.7.1 (an untyped CommonJS package) that the testkit uses.
// This is a module, not an ambient `declare module 's3rver'`: an ambient declaration would only be
// seen by programs whose tsconfig includes this file, while every package that imports
// @joblet/testkit type-checks its sources. s3-server.ts loads s3rver with createRequire and casts
// it to `S3rverConstructor`.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface S3rverOptions {
  address?: string;
  port?: number;
  /** Disables s3rver's winston request log. */
  silent?: boolean;
  /** Where buckets and objects live on disk. */
  directory?: string;
  resetOnClose?: boolean;
  allowMismatchedSignatures?: boolean;
  /** When false, only path-style requests (`/bucket/key`) are understood. */
  vhostBuckets?: boolean;
  configureBuckets?: { name: string; configs?: (string | Buffer)[] }[];
}

/** The subset of a Koa context our middleware touches. */
export interface KoaContextLike {
  readonly method: string;
  /** The request path, still percent-encoded. */
  readonly path: string;
  /** Koa delegates it to the request: setting it rewrites the query string. */
  query: Record<string, string | string[] | undefined>;
  status: number;
  body: unknown;
  type: string;
}

export type KoaMiddleware = (ctx: KoaContextLike, next: () => Promise<void>) => Promise<void>;

export interface S3rverInstance {
  /** Koa's middleware stack; `unshift` puts a middleware in front of s3rver's router. */
  readonly middleware: KoaMiddleware[];
  /** Set once `run()` resolved. */
  readonly httpServer?: Server;
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}

export type S3rverConstructor = new (options?: S3rverOptions) => S3rverInstance;
