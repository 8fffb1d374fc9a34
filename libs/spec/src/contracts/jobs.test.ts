import { describe, expect, it } from 'vitest';
import { JobRequest } from './jobs.js';
import { CreateNetworkRequest, networkKind, parseCidr } from './networks.js';

describe('JobRequest network', () => {
  it("is the farm's default when absent (the API fills it) and takes built-in and custom names", () => {
    const base = { command: 'true', runtime: 'python-3.11' };
    expect(JobRequest.parse(base).network).toBeUndefined();
    for (const network of ['none', 'isolated', 'egress', 'bridge', 'host', 'prod'] as const) {
      expect(JobRequest.parse({ ...base, network }).network).toBe(network);
    }
    expect(JobRequest.safeParse({ ...base, network: 'Prod!' }).success).toBe(false);
  });

  it('egress is isolated; bridge and custom networks are bridges', () => {
    expect(['none', 'isolated', 'egress', 'host', 'bridge', 'prod'].map(networkKind)).toEqual([
      'none',
      'isolated',
      'isolated',
      'host',
      'bridge',
      'bridge',
    ]);
  });
});

describe('network ranges', () => {
  it('parses a network range and says what is wrong with others', () => {
    expect(parseCidr('10.10.0.0/24')).toEqual({ base: 0x0a0a0000, prefix: 24 });
    expect(parseCidr('10.10.0.5/24')).toBe('the network address itself (10.10.0.0/24)');
    expect(parseCidr('10.10.0.0/8')).toBe('a prefix length from /16 to /29');
    expect(parseCidr('10.10.0.256/24')).toBe('an IPv4 range like 10.10.0.0/24');
    expect(parseCidr('fd00::/64')).toBe('an IPv4 range like 10.10.0.0/24');
  });

  it('refuses built-in names and ranges that mean something else on every host', () => {
    const issues = (name: string, cidr: string) =>
      CreateNetworkRequest.safeParse({ name, cidr }).error?.issues.map((i) => i.message) ?? [];
    expect(issues('prod', '10.10.0.0/24')).toEqual([]);
    expect(issues('bridge', '10.10.0.0/24')[0]).toMatch(/built-in network/);
    expect(issues('prod', '127.0.0.0/16')).toEqual(['must not overlap 127.0.0.0/8']);
    expect(issues('prod', '169.254.0.0/24')).toEqual(['must not overlap 169.254.0.0/16']);
  });
});
