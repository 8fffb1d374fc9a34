/**
 * The SBOM documents, checked structurally against what SPDX 2.3 and CycloneDX 1.5 require
 * (the schemas below spell out the required fields and their formats), on the inventory of a
 * runtime tree with the real dpkg status file.
 */
import { PackageURL } from 'packageurl-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { cleanupTemps, tempDir } from '../testing.js';
import { cyclonedxBom } from './cyclonedx.js';
import { readInventory, type SbomPackage } from './inventory.js';
import { packagesOfCyclonedx } from './sbom-read.js';
import { writeRuntimeTree } from './sbom.fixture.js';
import { spdxDocument } from './spdx.js';
import type { ArtifactSubject } from './subject.js';

afterAll(cleanupTemps);

const subject: ArtifactSubject = {
  name: 'python-3.11',
  version: '1.0.0',
  arch: 'amd64',
  sha256: 'a'.repeat(64),
  treeHash: 'b'.repeat(64),
  buildKey: 'c'.repeat(64),
  builtAt: '2026-12-07T23:00:00.123Z',
  builderVersion: '0.1.0',
};

const purl = z.string().refine((s) => {
  try {
    PackageURL.fromString(s);
    return true;
  } catch {
    return false;
  }
}, 'not a valid purl');
const spdxRef = z.string().regex(/^SPDXRef-[A-Za-z0-9.-]+$/);

const Spdx23 = z.object({
  spdxVersion: z.literal('SPDX-2.3'),
  dataLicense: z.literal('CC0-1.0'),
  SPDXID: z.literal('SPDXRef-DOCUMENT'),
  name: z.string().min(1),
  documentNamespace: z.url().refine((u) => !u.includes('#'), 'no "#" in a namespace'),
  creationInfo: z.object({
    created: z.string().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    creators: z.array(z.string().regex(/^(Tool|Organization|Person): .+/)).min(1),
  }),
  packages: z
    .array(
      z.object({
        SPDXID: spdxRef,
        name: z.string().min(1),
        versionInfo: z.string().min(1),
        downloadLocation: z.string().min(1),
        filesAnalyzed: z.literal(false),
        licenseConcluded: z.string(),
        licenseDeclared: z.string(),
        copyrightText: z.string(),
        supplier: z
          .string()
          .regex(/^(Organization|Person): .+|NOASSERTION$/)
          .optional(),
        checksums: z
          .array(
            z.object({
              algorithm: z.literal('SHA256'),
              checksumValue: z.string().regex(/^[0-9a-f]{64}$/),
            }),
          )
          .optional(),
        externalRefs: z
          .array(
            z.object({
              referenceCategory: z.literal('PACKAGE-MANAGER'),
              referenceType: z.literal('purl'),
              referenceLocator: purl,
            }),
          )
          .min(1),
      }),
    )
    .min(1),
  relationships: z.array(
    z.object({
      spdxElementId: spdxRef,
      relationshipType: z.enum(['DESCRIBES', 'CONTAINS']),
      relatedSpdxElement: spdxRef,
    }),
  ),
});

const Cdx15 = z.object({
  bomFormat: z.literal('CycloneDX'),
  specVersion: z.literal('1.5'),
  serialNumber: z
    .string()
    .regex(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
  version: z.number().int().min(1),
  metadata: z.object({
    timestamp: z.iso.datetime(),
    component: z.object({ type: z.string(), name: z.string(), purl }),
  }),
  components: z.array(
    z.object({
      type: z.enum([
        'application',
        'framework',
        'library',
        'container',
        'platform',
        'operating-system',
      ]),
      'bom-ref': z.string().min(1),
      name: z.string().min(1),
      version: z.string().min(1),
      purl,
      hashes: z
        .array(z.object({ alg: z.literal('SHA-256'), content: z.string().regex(/^[0-9a-f]{64}$/) }))
        .optional(),
    }),
  ),
  dependencies: z.array(z.object({ ref: z.string(), dependsOn: z.array(z.string()) })),
});

let pkgs: SbomPackage[];
beforeAll(async () => {
  const root = tempDir('sbom-docs-');
  writeRuntimeTree(root);
  pkgs = await readInventory(root, {
    distro: 'debian',
    toolchain: {
      project: 'nodejs',
      version: '22',
      files: [{ url: 'https://nodejs.org/dist/v22.11.0/node.tar.xz', sha256: 'd'.repeat(64) }],
    },
  });
});

describe('spdxDocument', () => {
  it('is a valid SPDX 2.3 document describing the runtime, which contains every package', () => {
    const doc = spdxDocument(subject, pkgs);
    const parsed = Spdx23.parse(JSON.parse(JSON.stringify(doc)));
    const ids = parsed.packages.map((p) => p.SPDXID);
    expect(new Set(ids).size).toBe(ids.length);
    expect(parsed.packages).toHaveLength(pkgs.length + 1);
    expect(parsed.relationships[0]).toEqual({
      spdxElementId: 'SPDXRef-DOCUMENT',
      relationshipType: 'DESCRIBES',
      relatedSpdxElement: 'SPDXRef-Runtime',
    });
    const contained = new Set(
      parsed.relationships
        .filter((r) => r.relationshipType === 'CONTAINS')
        .map((r) => r.relatedSpdxElement),
    );
    expect(ids.filter((id) => id !== 'SPDXRef-Runtime').every((id) => contained.has(id))).toBe(
      true,
    );
    const openssl = parsed.packages.find((p) => p.name === 'libssl3' || p.name === 'libc6')!;
    expect(openssl.externalRefs[0]!.referenceLocator).toMatch(/^pkg:deb\/debian\//);
    const tc = parsed.packages.find((p) => p.name === 'node.tar.xz')!;
    expect(tc.checksums).toEqual([{ algorithm: 'SHA256', checksumValue: 'd'.repeat(64) }]);
    expect(tc.downloadLocation).toBe('https://nodejs.org/dist/v22.11.0/node.tar.xz');
    expect(parsed.packages.find((p) => p.name === 'left-pad')?.versionInfo).toBe('1.3.0');
  });

  it('gives every document its own namespace', () => {
    expect(spdxDocument(subject, pkgs).documentNamespace).not.toBe(
      spdxDocument(subject, pkgs).documentNamespace,
    );
  });
});

describe('cyclonedxBom', () => {
  it('is a valid CycloneDX 1.5 BOM with one component per package, each with its purl', () => {
    const bom = Cdx15.parse(JSON.parse(JSON.stringify(cyclonedxBom(subject, pkgs))));
    expect(bom.components).toHaveLength(pkgs.length);
    const refs = bom.components.map((c) => c['bom-ref']);
    expect(new Set(refs).size).toBe(refs.length);
    expect(bom.dependencies[0]!.dependsOn).toEqual(refs);
    expect(bom.components.find((c) => c.purl === 'pkg:npm/%40types/node@20.11.0')).toMatchObject({
      name: 'node',
      version: '20.11.0',
    });
  });

  it('reads back as the same package list', () => {
    const listed = packagesOfCyclonedx(JSON.parse(JSON.stringify(cyclonedxBom(subject, pkgs))))!;
    expect(listed.map((p) => [p.ecosystem, p.name, p.version, p.purl, p.source])).toEqual(
      pkgs.map((p) => [p.ecosystem, p.name, p.version, p.purl, p.source]),
    );
    // dpkg's Source field survives the round trip (libssl3 → openssl is how "ships openssl" is answered).
    expect(listed.some((p) => p.ecosystem === 'deb' && p.source !== undefined)).toBe(true);
    expect(packagesOfCyclonedx({ components: 'no' })).toBeUndefined();
  });
});
