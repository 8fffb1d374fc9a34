import { describe, expect, it } from 'vitest';
import { JobRequest } from './jobs.js';

describe('JobRequest network', () => {
  it('is none by default and accepts egress and host, nothing else', () => {
    const base = { command: 'true', runtime: 'python-3.11' };
    expect(JobRequest.parse(base).network).toBe('none');
    for (const network of ['none', 'egress', 'host'] as const) {
      expect(JobRequest.parse({ ...base, network }).network).toBe(network);
    }
    expect(JobRequest.safeParse({ ...base, network: 'bridge' }).success).toBe(false);
  });
});
