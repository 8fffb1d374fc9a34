/**
 * SPDX 2.3 JSON documents of a runtime, typed on the specification's field names
 * (https://spdx.github.io/spdx-spec/v2.3/): one package for the runtime, which the document
 * DESCRIBES and which CONTAINS one package per inventory entry, each with its purl as a
 * PACKAGE-MANAGER external reference.
 *
 * Licences: SPDX wants a valid licence expression or NOASSERTION in `licenseDeclared`; Debian
 * records none, and Python's `License` is free text, so the declared value is kept in the
 * package's `comment` and the field says NOASSERTION (no guessing at expressions).
 */
import { randomUUID } from 'node:crypto';
import type { SbomPackage } from './inventory.js';
import { SBOM_TOOL, runtimePurl, type ArtifactSubject } from './subject.js';

export interface SpdxChecksum {
  algorithm: 'SHA256';
  checksumValue: string;
}

export interface SpdxExternalRef {
  referenceCategory: 'PACKAGE-MANAGER';
  referenceType: 'purl';
  referenceLocator: string;
}

export interface SpdxPackage {
  SPDXID: string;
  name: string;
  versionInfo: string;
  downloadLocation: string;
  filesAnalyzed: false;
  supplier?: string;
  homepage?: string;
  licenseConcluded: 'NOASSERTION';
  licenseDeclared: 'NOASSERTION';
  copyrightText: 'NOASSERTION';
  checksums?: SpdxChecksum[];
  externalRefs: SpdxExternalRef[];
  primaryPackagePurpose?: 'APPLICATION' | 'LIBRARY' | 'CONTAINER' | 'OPERATING-SYSTEM';
  sourceInfo?: string;
  comment?: string;
}

export interface SpdxRelationship {
  spdxElementId: string;
  relationshipType: 'DESCRIBES' | 'CONTAINS';
  relatedSpdxElement: string;
}

export interface SpdxDocument {
  spdxVersion: 'SPDX-2.3';
  dataLicense: 'CC0-1.0';
  SPDXID: 'SPDXRef-DOCUMENT';
  name: string;
  documentNamespace: string;
  creationInfo: { created: string; creators: string[] };
  packages: SpdxPackage[];
  relationships: SpdxRelationship[];
}

/** Where document namespaces live: a URI the farm owns, made unique per document. */
export const SPDX_NAMESPACE_BASE = 'https://joblet.dev/spdx';

const RUNTIME_ID = 'SPDXRef-Runtime';

/** `SPDXRef-` ids allow letters, digits, `.` and `-` only. */
function spdxId(i: number, p: SbomPackage): string {
  return `SPDXRef-Package-${p.ecosystem}-${i + 1}-${p.name.replace(/[^A-Za-z0-9.-]+/g, '-')}`;
}

/** SPDX times are UTC to the second: `2024-01-02T03:04:05Z`. */
function spdxTime(iso: string): string {
  return new Date(iso).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The SPDX 2.3 document of `subject` containing `packages`. */
export function spdxDocument(
  subject: ArtifactSubject,
  packages: readonly SbomPackage[],
): SpdxDocument {
  const root: SpdxPackage = {
    SPDXID: RUNTIME_ID,
    name: subject.name,
    versionInfo: subject.version,
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: 'NOASSERTION',
    copyrightText: 'NOASSERTION',
    checksums: [{ algorithm: 'SHA256', checksumValue: subject.sha256 }],
    externalRefs: [purlRef(runtimePurl(subject))],
    primaryPackagePurpose: 'CONTAINER',
    comment: `Joblet runtime for ${subject.arch}; tree hash ${subject.treeHash}; build key ${subject.buildKey}`,
  };
  const pkgs = packages.map((p, i): SpdxPackage => ({
    SPDXID: spdxId(i, p),
    name: p.name,
    versionInfo: p.version,
    downloadLocation: p.downloadLocation ?? 'NOASSERTION',
    filesAnalyzed: false,
    ...(p.supplier && { supplier: `Organization: ${p.supplier}` }),
    ...(p.homepage && /^https?:\/\//.test(p.homepage) && { homepage: p.homepage }),
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: 'NOASSERTION',
    copyrightText: 'NOASSERTION',
    ...(p.sha256 && { checksums: [{ algorithm: 'SHA256' as const, checksumValue: p.sha256 }] }),
    externalRefs: [purlRef(p.purl)],
    primaryPackagePurpose: p.ecosystem === 'generic' ? 'APPLICATION' : 'LIBRARY',
    ...(p.source && { sourceInfo: `built from the Debian source package ${p.source}` }),
    ...(p.license && { comment: `declared license: ${p.license}` }),
  }));
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${subject.name}@${subject.version}-${subject.arch}`,
    documentNamespace: `${SPDX_NAMESPACE_BASE}/${encodeURIComponent(subject.name)}/${encodeURIComponent(subject.version)}/${subject.arch}/${randomUUID()}`,
    creationInfo: {
      created: spdxTime(subject.builtAt),
      creators: [`Tool: ${SBOM_TOOL}-${subject.builderVersion}`],
    },
    packages: [root, ...pkgs],
    relationships: [
      {
        spdxElementId: 'SPDXRef-DOCUMENT',
        relationshipType: 'DESCRIBES',
        relatedSpdxElement: RUNTIME_ID,
      },
      ...pkgs.map((p) => ({
        spdxElementId: RUNTIME_ID,
        relationshipType: 'CONTAINS' as const,
        relatedSpdxElement: p.SPDXID,
      })),
    ],
  };
}

function purlRef(purl: string): SpdxExternalRef {
  return { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: purl };
}
