import { describe, expect, it } from 'vitest';
import { EgressAllowEnv, parseEgressAllow } from './env-egress.js';

describe('parseEgressAllow', () => {
  it('takes addresses, ranges and address:port, v4 and v6', () => {
    expect(
      parseEgressAllow(['10.1.2.3', '10.1.0.0/16', '10.1.2.3:3141', 'fd00::/8', '[fd00::5]:443']),
    ).toEqual([
      { net: '10.1.2.3', family: 4 },
      { net: '10.1.0.0/16', family: 4 },
      { net: '10.1.2.3', family: 4, port: 3141 },
      { net: 'fd00::/8', family: 6 },
      { net: 'fd00::5', family: 6, port: 443 },
    ]);
  });

  it.each(['mirror.lan', '10.1.2.3/33', '10.1.2.3:0', '10.1.2.3:70000', '', '1.2.3.4/8/9'])(
    'refuses %j naming it',
    (entry) => {
      expect(() => parseEgressAllow([entry])).toThrow(`invalid egress allow entry '${entry}'`);
    },
  );
});

describe('EgressAllowEnv', () => {
  it('reads a comma-separated list and names a bad entry', () => {
    expect(EgressAllowEnv.parse(' 10.1.0.0/16, 10.2.3.4:3141 ')).toHaveLength(2);
    const r = EgressAllowEnv.safeParse('10.1.0.0/16,mirror.lan');
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toContain("invalid egress allow entry 'mirror.lan'");
  });
});
