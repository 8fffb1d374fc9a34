// The runtime's SBOM: what its tree contains (inventory) as SPDX 2.3 and CycloneDX 1.5 JSON.
export { parseDeb822, parseDpkgStatus, readDpkgPackages, type DpkgPackage } from './dpkg-status.js';
export {
  parseCoreMetadata,
  readPythonDistributions,
  type PythonDistribution,
} from './python-metadata.js';
export { readNpmPackages, type NpmPackage } from './npm-packages.js';
export { debPurl, genericPurl, npmPurl, pypiPurl } from './purl.js';
export {
  readInventory,
  type InventoryOptions,
  type PackageEcosystem,
  type SbomPackage,
  type ToolchainInput,
} from './inventory.js';
export { SBOM_TOOL, runtimePurl, type ArtifactSubject } from './subject.js';
export { SPDX_NAMESPACE_BASE, spdxDocument, type SpdxDocument, type SpdxPackage } from './spdx.js';
export { cyclonedxBom, type CdxBom, type CdxComponent } from './cyclonedx.js';
export { packagesOfCyclonedx, type ListedPackage } from './sbom-read.js';
