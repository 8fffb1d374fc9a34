// What tests and benchmarks outside the worker package use to drive a real worker, exported as
// `@joblet/worker/testing` so they never reach into this package by relative paths.
export { readBaseRoot, shiftOwners } from './base-root/index.js';
export { pruneFilter } from './build/prune.js';
export { readWorkerEnv, type WorkerConfig } from './env.js';
export { createWorker, type FarmWorker } from './worker.js';
export * from './test-support/flow.js';
