// What tests and benchmarks outside the worker package use to drive a real worker, exported as
// `@joblet/worker/testing` so they never reach into this package by relative paths.
export { readBaseRoot } from './base-root/index.js';
