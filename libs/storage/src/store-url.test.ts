import { describe, expect, it } from 'vitest';

import { createArtifactStore } from './create-store.js';
import { isStorageError } from './errors.js';
import { parseStoreUrl, redactUrl } from './store-url.js';

function badConfig(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(isStorageError(err, 'BAD_CONFIG')).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected BAD_CONFIG');
}

describe('storage URLs', () => {
  it('parses a directory store', () => {
    expect(parseStoreUrl('file:///var/lib/joblet-farm/store')).toEqual({
      kind: 'dir',
      root: '/var/lib/joblet-farm/store',
    });
    expect(parseStoreUrl('file:///var/lib/my%20store/')).toEqual({
      kind: 'dir',
      root: '/var/lib/my store',
    });
    const store = createArtifactStore('file:///var/lib/joblet-farm/store');
    expect(store.kind).toBe('dir');
    expect(store.url).toBe('file:///var/lib/joblet-farm/store');
  });

  it('parses an S3 store, with unencoded or encoded endpoint', () => {
    expect(parseStoreUrl('s3://artifacts?endpoint=http://127.0.0.1:9000&region=eu-west-1')).toEqual(
      {
        kind: 's3',
        options: { bucket: 'artifacts', endpoint: 'http://127.0.0.1:9000', region: 'eu-west-1' },
      },
    );
    const parsed = parseStoreUrl(
      's3://AK:se%2Fcr%2Bet@artifacts/farm/prod?endpoint=http%3A%2F%2Fminio%3A9000&path_style=false',
    );
    expect(parsed).toEqual({
      kind: 's3',
      options: {
        bucket: 'artifacts',
        endpoint: 'http://minio:9000',
        pathStyle: false,
        prefix: 'farm/prod',
        accessKey: 'AK',
        secretKey: 'se/cr+et',
      },
    });
  });

  it('lets credentials passed by the caller override those in the URL', () => {
    const parsed = parseStoreUrl('s3://u:p@b-1?endpoint=http://h:1', {
      accessKey: 'envKey',
      secretKey: 'envSecret',
      partSize: 8 * 1024 * 1024,
    });
    expect(parsed.kind === 's3' && parsed.options).toMatchObject({
      accessKey: 'envKey',
      secretKey: 'envSecret',
      partSize: 8 * 1024 * 1024,
    });
  });

  it('never puts secrets in the store url or in error messages', () => {
    const store = createArtifactStore('s3://AK:TOPSECRET@bucket-x?endpoint=http://127.0.0.1:9000');
    expect(store.url).toBe('s3://bucket-x?endpoint=http://127.0.0.1:9000&region=us-east-1');
    const message = badConfig(() =>
      createArtifactStore('s3://AK:TOPSECRET@bucket-x?endpoint=http://127.0.0.1:9000&regoin=x'),
    );
    expect(message).not.toContain('TOPSECRET');
    expect(message).toContain('***@bucket-x');
    expect(redactUrl('s3://a:b@c?d=e')).toBe('s3://***@c?d=e');
  });

  it('names the problem in a bad URL', () => {
    expect(badConfig(() => parseStoreUrl('/var/lib/store'))).toMatch(
      /use file:\/\/\/var\/lib\/store/,
    );
    expect(badConfig(() => parseStoreUrl('not a url'))).toMatch(/not a URL/);
    expect(badConfig(() => parseStoreUrl('gs://bucket'))).toMatch(/unsupported scheme "gs:"/);
    expect(badConfig(() => parseStoreUrl('file://host/path'))).toMatch(/local/);
    expect(badConfig(() => parseStoreUrl('file:///'))).toMatch(/"\/"/);
    expect(badConfig(() => parseStoreUrl('s3://b?regoin=x'))).toMatch(/unknown parameter "regoin"/);
    expect(badConfig(() => parseStoreUrl('s3://b:9000'))).toMatch(/port belongs in the endpoint/);
    expect(badConfig(() => parseStoreUrl('s3://onlykey@bucket'))).toMatch(/secret key/);
    expect(badConfig(() => parseStoreUrl('s3://b?path_style=yes'))).toMatch(/path_style/);
    expect(badConfig(() => createArtifactStore('s3://UPPER?endpoint=http://h:1'))).toMatch(
      /bucket name/,
    );
    expect(badConfig(() => createArtifactStore('s3://bucket?endpoint=minio:9000'))).toMatch(/http/);
    expect(
      badConfig(() => createArtifactStore('s3://bucket?endpoint=http://u:p@minio:9000')),
    ).toMatch(/credentials/);
    expect(
      badConfig(() => createArtifactStore('s3://bucket/a%20b?endpoint=http://minio:9000')),
    ).toMatch(/prefix "a b" is invalid/);
  });
});
