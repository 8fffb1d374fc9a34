/**
 * The queue protocol: per queue, the job kinds it carries; per kind, its payload schema, job id
 * rule and options (retention included); and the registry every consumer dispatches through.
 *
 * | queue          | job kinds                                              |
 * | -------------- | ------------------------------------------------------ |
 * | `build-<arch>` | `build-runtime` (child of a build flow)                |
 * | `publish`      | `publish-runtime` (parent of a build flow)             |
 * | `jobs-<arch>`  | `run-job`                                              |
 * | `node-<name>`  | `run-job` (pinned), `runtime-test`, `volume-create`, `volume-remove` |
 */
export * from './job-kind.js';
export * from './builds.js';
export * from './jobs.js';
export * from './node-calls.js';
export * from './registry.js';
