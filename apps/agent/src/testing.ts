// What tests and benchmarks outside the agent package use, exported as `@joblet/agent/testing`
// so they never reach into this package by relative paths: the agent factory and its config
// reader, the job sandbox and job dirs the job benchmark drives, and the fixtures of
// test-support.ts (a world with Redis + store, published artifacts, a Debian runtime tree).
export * from './test-support.js';
export { createAgent, type Agent, type AgentDeps } from './agent.js';
export { readAgentEnv, type AgentConfig } from './env.js';
export { BwrapJobSandbox, RuntimeMounts } from './jobs/job-sandbox.js';
export { createJobDir, removeJobDir } from './jobs/job-dirs.js';
