export * from './names.js';
export * from './connection.js';
export * from './redis-client.js';
export * from './redis-env.js';
export * from './redis-check.js';
export * from './protocol/index.js';
export * from './event-stream.js';
export * from './build-store.js';
export * from './build-key.js';
// API contracts the worker and agent also use, re-exported from @joblet/spec.
export {
  ArchName,
  ArchState,
  ArchStatus,
  ArtifactInfo,
  ArtifactManifest,
  BUILD_ERROR_CODES,
  BUILD_STATES,
  BuildError,
  BuildErrorCode,
  BuildEvent,
  BuildMeta,
  BuildPointer,
  BuildRecord,
  BuildState,
  FarmEvent,
  IndexArch,
  RuntimeIndexEntry,
  ARCH_STATES,
  isTerminal,
} from '@joblet/spec';
export * from './job-store.js';
export * from './farm-metrics.js';
export * from './redis-metrics.js';
export * from './retention.js';
