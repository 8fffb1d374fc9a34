export * from './artifact-store.js';
export * from './errors.js';
export * from './key.js';
export * from './layout.js';
export * from './retry.js';
export * from './store-url.js';
export * from './create-store.js';
export { DirArtifactStore, type DirStoreOptions } from './dir.store.js';
export {
  S3ArtifactStore,
  type S3StoreOptions,
  DEFAULT_PART_SIZE,
  MIN_PART_SIZE,
  DEFAULT_REQUEST_TIMEOUT_MS,
} from './s3.store.js';
