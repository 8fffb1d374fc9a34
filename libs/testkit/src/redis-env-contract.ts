/**
 * One contract for how every farm app reads its Redis and store settings (api, worker and agent
 * each run it against their own env reader): every REDIS_URL form the farm supports, refusals
 * naming the variable and never the password, an un-tagged prefix refused on a cluster, and the
 * app's own credentials beside the URL or in files. A subpath export (`@joblet/testkit/redis-env`)
 * so that only test files import vitest.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, type TempDir } from './temp-dir.js';

/** What the contract reads back from an app's parsed configuration. */
export interface RedisEnvView {
  url: string;
  username?: string;
  password?: string;
  secretKey?: string;
}

export interface RedisEnvContract {
  /** As the app's errors name it: `invalid <label> configuration`. */
  label: string;
  /** The app's Redis ACL user (and store user `farm-<user>`). */
  user: string;
  /** Variables the app needs besides Redis (made in a temp dir). */
  base?: (dir: string) => Record<string, string>;
  read: (env: Record<string, string>) => RedisEnvView;
}

export function describeRedisEnvContract(c: RedisEnvContract): void {
  describe(`${c.label} configuration: Redis and store credentials`, () => {
    let tmp: TempDir;
    let base: Record<string, string> = {};
    beforeAll(async () => {
      tmp = await makeTempDir(`${c.user}-env-redis`);
      base = c.base?.(tmp.path) ?? {};
    });
    afterAll(() => tmp.cleanup());
    const read = (env: Record<string, string>) => c.read({ ...base, ...env });

    it.each([
      ['redis://127.0.0.1:6379', 'joblet'],
      ['rediss://:pw@cache.example:6380/1', 'joblet'],
      ['redis-sentinel://s1,s2:26380/farm-master?db=2', 'joblet'],
      ['redis-cluster://n1:7000,n2:7001', '{joblet}'],
    ])('accepts %s', (url, prefix) => {
      expect(read({ REDIS_URL: url, QUEUE_PREFIX: prefix }).url).toBe(url);
    });

    it('refuses a URL it cannot use, naming REDIS_URL and hiding the password', () => {
      const bad = (url: string) => () => read({ REDIS_URL: url });
      expect(bad('http://h:6379')).toThrow(
        new RegExp(
          `^invalid ${c.label} configuration:\\n {2}REDIS_URL: Redis URL http://h:6379: expected redis://`,
        ),
      );
      expect(bad('redis-sentinel://:secret@s1,s2')).toThrow(
        /REDIS_URL: Redis URL redis-sentinel:\/\/:\*\*\*@s1,s2: the master name is missing/,
      );
      expect(bad('redis-sentinel://:secret@s1,s2')).not.toThrow(/secret/);
    });

    it('refuses an un-tagged QUEUE_PREFIX on a cluster', () => {
      expect(() => read({ REDIS_URL: 'redis-cluster://n1', QUEUE_PREFIX: 'joblet' })).toThrow(
        /QUEUE_PREFIX: queue prefix "joblet" is not hash-tagged.*QUEUE_PREFIX="\{joblet\}"/s,
      );
    });

    it('reads its own credentials: REDIS_USERNAME, REDIS_PASSWORD_FILE, STORAGE_SECRET_KEY_FILE', () => {
      const pw = join(tmp.path, 'redis-password');
      writeFileSync(pw, 'redis-secret\n', { mode: 0o600 });
      const sk = join(tmp.path, 'storage-secret');
      writeFileSync(sk, 'storage-secret\n', { mode: 0o600 });
      expect(
        read({
          REDIS_USERNAME: c.user,
          REDIS_PASSWORD_FILE: pw,
          STORAGE_ACCESS_KEY: `farm-${c.user}`,
          STORAGE_SECRET_KEY_FILE: sk,
        }),
      ).toEqual({
        url: 'redis://127.0.0.1:6379',
        username: c.user,
        password: 'redis-secret',
        secretKey: 'storage-secret',
      });
      expect(() => read({ REDIS_URL: 'redis://:a@h', REDIS_PASSWORD: 'b' })).toThrow(
        /REDIS_PASSWORD: REDIS_URL \(redis:\/\/:\*\*\*@h\) already carries a password/,
      );
      expect(() => read({ REDIS_PASSWORD_FILE: join(tmp.path, 'none') })).toThrow(
        /REDIS_PASSWORD_FILE: cannot read .*none \(ENOENT\)/,
      );
    });
  });
}
