import { describe, expect, it } from 'vitest';
import { archFromUname, platformToArch, specArchitectures } from './arch.js';
import { PLATFORMS } from './constants.js';

describe('architecture names', () => {
  it.each([
    ['ubuntu-amd64', 'amd64'],
    ['ubuntu-arm64', 'arm64'],
    ['amzn-arm64', 'arm64'],
    ['rhel-arm64', 'arm64'],
    ['debian-amd64', 'amd64'],
    ['rhel-x86_64', 'amd64'],
    ['ubuntu', undefined],
    ['ubuntu-i386', undefined],
    ['-amd64', undefined],
  ])('platformToArch(%j) = %j', (platform, arch) => {
    expect(platformToArch(platform)).toBe(arch);
  });

  it('maps every known platform', () => {
    for (const p of PLATFORMS) expect(platformToArch(p)).toBeDefined();
  });

  it.each([
    ['x86_64', 'amd64'],
    ['aarch64', 'arm64'],
    ['arm64', 'arm64'],
    ['armv7l', undefined],
    ['i686', undefined],
    ['__proto__', undefined],
  ])('archFromUname(%j) = %j', (machine, arch) => {
    expect(archFromUname(machine)).toBe(arch);
  });
});

describe('specArchitectures', () => {
  it('prefers architectures, then platforms, then the fallback', () => {
    expect(specArchitectures({ architectures: ['arm64'], platforms: ['ubuntu-amd64'] })).toEqual([
      'arm64',
    ]);
    expect(specArchitectures({ platforms: ['rhel-arm64', 'ubuntu-arm64'] })).toEqual(['arm64']);
    expect(specArchitectures({}, ['amd64'])).toEqual(['amd64']);
  });

  it('defaults to every architecture the farm builds', () => {
    expect(specArchitectures({})).toEqual(['amd64', 'arm64']);
  });

  it('returns a stable order without duplicates', () => {
    expect(specArchitectures({ architectures: ['arm64', 'amd64'] })).toEqual(['amd64', 'arm64']);
    expect(specArchitectures({ platforms: ['ubuntu-arm64', 'amzn-amd64', 'rhel-arm64'] })).toEqual([
      'amd64',
      'arm64',
    ]);
  });
});
