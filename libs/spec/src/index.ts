/**
 * @joblet/spec — the runtime.yaml schema and validator, the base catalog, the generated
 * runtime.yml, runtime references, and the contracts shared by the API and the CLI. (The
 * artifact manifest and its signing keys are @joblet/artifact's.)
 */
export {
  ARCHITECTURES,
  DEFAULT_HOOK_TIMEOUT_S,
  LANGUAGES,
  LIMITS,
  MAX_DIAGNOSTICS,
  MAX_HOOK_TIMEOUT_S,
  MAX_SPEC_BYTES,
  MAX_YAML_DEPTH,
  MAX_YAML_TOKENS,
  PLATFORMS,
  SCHEMA_VERSION,
  type Arch,
  type Language,
  type Platform,
} from './constants.js';
export {
  DiagnosticCodes,
  ROOT_PATH,
  formatDiagnostic,
  formatPath,
  sortDiagnostics,
  type Diagnostic,
  type DiagnosticCode,
  type PathSegment,
  type Severity,
} from './diagnostic.js';
export { SpecError, SpecErrorCodes, type SpecErrorCode } from './spec-error.js';
export {
  BaseSpec,
  HooksSpec,
  PruneSpec,
  RequirementsSpec,
  RuntimeSpec,
  SPEC_KEYS,
} from './runtime-spec.js';
export { checkKeepPath, isPacked, PRUNED_DIRS } from './prune.js';
export { validateRuntimeSpec, type ValidateOptions, type ValidationResult } from './validate.js';
export { archFromUname, platformToArch, specArchitectures } from './arch.js';
export {
  CatalogEntry,
  LANGUAGE_DEFAULTS,
  catalogVersions,
  findCatalogEntry,
  mergeCatalogs,
  type BaseCatalog,
} from './catalog.js';
export { builtinCatalog, withLanguageDefaults } from './catalog-builtin.js';
export {
  TOOLCHAIN_PROJECTS,
  TOOLCHAIN_PROJECT_NAMES,
  Toolchain,
  ToolchainArchive,
  ToolchainFile,
  mirroredUrl,
  parseToolchainMirrors,
  toolchainArches,
  toolchainFileFor,
  type ToolchainProject,
} from './toolchain.js';
export {
  CatalogFile,
  MAX_CATALOG_BYTES,
  loadCatalogFile,
  parseCatalog,
  type ParsedCatalog,
} from './catalog-file.js';
export {
  BuildInfo,
  MAX_RUNTIME_YML_BYTES,
  RuntimeMount,
  RuntimeYml,
  RuntimeYmlRequirements,
  parseRuntimeYml,
  serializeRuntimeYml,
} from './runtime-yml.js';
export {
  BUILT_WITH,
  MOUNT_DIRS,
  MULTIARCH,
  buildRuntimeYml,
  javaHome,
  type BuildRuntimeYmlInput,
} from './runtime-yml-build.js';
export {
  parseRuntimeRef,
  resolveRuntimeRef,
  type RuntimeCandidate,
  type RuntimeRef,
} from './runtime-ref.js';
export {
  compareDotted,
  compareSemver,
  isSemver,
  parseSemver,
  pickVersion,
  type SemVer,
} from './semver.js';
export { parseDuration, parseMemorySize, RESERVED_ENV_NAMES } from './checks/fields.js';
export { PIP_OPTIONS } from './checks/pip-options.js';
export { summarizeSpec } from './summary.js';
export { canonicalJson, computeBuildKey } from './build-key.js';
export * from './contracts/api-error.js';
export * from './contracts/roles.js';
export * from './contracts/validate.js';
export * from './contracts/build.js';
export * from './contracts/build-events.js';
export * from './contracts/artifacts.js';
export * from './contracts/builds-api.js';
export * from './contracts/nodes.js';
export * from './contracts/node-schedule.js';
export * from './contracts/runtimes-api.js';
export * from './contracts/runtime-sbom-api.js';
export * from './contracts/jobs.js';
export * from './contracts/networks.js';
export * from './contracts/schedule.js';
export * from './contracts/pools.js';
export * from './contracts/tokens.js';
export * from './contracts/gc.js';
export * from './contracts/dashboard.js';
export * from './contracts/health.js';
export * from './env-secrets.js';
export * from './env-dns.js';
export * from './env-egress.js';
export * from './cpu-list.js';
export {
  DEFAULT_RUNTIME_BUILDING,
  DEFAULT_RUNTIME_NAME,
  DEFAULT_RUNTIME_SPEC,
  isSystemRoot,
} from './default-runtime.js';
export { NODE_NAME, nodeCredentialUser, nodeNameFromHostname } from './node-name.js';
