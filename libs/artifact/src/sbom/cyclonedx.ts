/**
 * CycloneDX 1.5 JSON BOMs of a runtime, typed on the specification's field names
 * (https://cyclonedx.org/docs/1.5/json/): the runtime is `metadata.component`, every inventory
 * entry a component whose `bom-ref` is its purl, and the runtime depends on all of them.
 */
import { randomUUID } from 'node:crypto';
import type { SbomPackage } from './inventory.js';
import { SBOM_TOOL, runtimePurl, type ArtifactSubject } from './subject.js';

export interface CdxHash {
  alg: 'SHA-256';
  content: string;
}

export interface CdxProperty {
  name: string;
  value: string;
}

export interface CdxComponent {
  type: 'application' | 'library' | 'framework' | 'platform';
  'bom-ref': string;
  group?: string;
  name: string;
  version: string;
  purl: string;
  supplier?: { name: string };
  licenses?: { license: { name: string } }[];
  hashes?: CdxHash[];
  externalReferences?: { type: 'distribution' | 'website'; url: string }[];
  properties?: CdxProperty[];
}

export interface CdxBom {
  bomFormat: 'CycloneDX';
  specVersion: '1.5';
  serialNumber: string;
  version: 1;
  metadata: {
    timestamp: string;
    tools: { components: { type: 'application'; name: string; version: string }[] };
    component: CdxComponent;
  };
  components: CdxComponent[];
  dependencies: { ref: string; dependsOn: string[] }[];
}

/** The CycloneDX 1.5 BOM of `subject` containing `packages`. */
export function cyclonedxBom(subject: ArtifactSubject, packages: readonly SbomPackage[]): CdxBom {
  const rootRef = runtimePurl(subject);
  const root: CdxComponent = {
    type: 'platform',
    'bom-ref': rootRef,
    name: subject.name,
    version: subject.version,
    purl: rootRef,
    hashes: [{ alg: 'SHA-256', content: subject.sha256 }],
    properties: [
      { name: 'joblet:arch', value: subject.arch },
      { name: 'joblet:treeHash', value: subject.treeHash },
      { name: 'joblet:buildKey', value: subject.buildKey },
    ],
  };
  const components = packages.map((p): CdxComponent => {
    const scoped = p.ecosystem === 'npm' && p.name.startsWith('@') && p.name.includes('/');
    const refs: { type: 'distribution' | 'website'; url: string }[] = [];
    if (p.downloadLocation) refs.push({ type: 'distribution', url: p.downloadLocation });
    if (p.homepage && /^https?:\/\//.test(p.homepage))
      refs.push({ type: 'website', url: p.homepage });
    return {
      type: p.ecosystem === 'generic' ? 'framework' : 'library',
      'bom-ref': p.purl,
      ...(scoped && { group: p.name.slice(0, p.name.indexOf('/')) }),
      name: scoped ? p.name.slice(p.name.indexOf('/') + 1) : p.name,
      version: p.version,
      purl: p.purl,
      ...(p.supplier && { supplier: { name: p.supplier } }),
      ...(p.license && { licenses: [{ license: { name: p.license } }] }),
      ...(p.sha256 && { hashes: [{ alg: 'SHA-256' as const, content: p.sha256 }] }),
      ...(refs.length > 0 && { externalReferences: refs }),
      properties: [
        ...(p.source ? [{ name: 'joblet:source', value: p.source }] : []),
        ...(p.path ? [{ name: 'joblet:path', value: p.path }] : []),
      ],
    };
  });
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber: `urn:uuid:${randomUUID()}`,
    version: 1,
    metadata: {
      timestamp: new Date(subject.builtAt).toISOString(),
      tools: {
        components: [{ type: 'application', name: SBOM_TOOL, version: subject.builderVersion }],
      },
      component: root,
    },
    components,
    dependencies: [
      { ref: rootRef, dependsOn: components.map((c) => c['bom-ref']) },
      ...components.map((c) => ({ ref: c['bom-ref'], dependsOn: [] })),
    ],
  };
}
