import { existsSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startS3Server, type S3TestServer } from './s3-server.js';
import { uniqueName } from './temp-dir.js';

describe('startS3Server', () => {
  let server: S3TestServer;
  let bucket: string;

  beforeAll(async () => {
    bucket = uniqueName('tk');
    server = await startS3Server({ buckets: [bucket] });
  });
  afterAll(() => server.close());

  it('serves S3 on 127.0.0.1 and builds s3:// URLs for createArtifactStore', async () => {
    expect(server.endpoint).toBe(`http://127.0.0.1:${server.port}`);
    const url = new URL(server.url(bucket, 'some/prefix'));
    expect(url.protocol).toBe('s3:');
    expect(url.hostname).toBe(bucket);
    expect(url.pathname).toBe('/some/prefix');
    expect(url.username).toBe(server.accessKey);
    expect(url.searchParams.get('endpoint')).toBe(server.endpoint);
    const put = await fetch(`${server.endpoint}/${bucket}/k`, { method: 'PUT', body: 'v' });
    expect(put.status).toBe(200);
    expect(await (await fetch(`${server.endpoint}/${bucket}/k`)).text()).toBe('v');
  });

  it('lists, describes and aborts multipart uploads (which s3rver alone cannot)', async () => {
    const base = `${server.endpoint}/${bucket}`;
    const empty = await fetch(`${base}?uploads&prefix=mp/`);
    expect(empty.status).toBe(200);
    expect(await empty.text()).toMatch(/<IsTruncated>false<\/IsTruncated><\/ListMultipart/);

    const init = await (await fetch(`${base}/mp/obj?uploads`, { method: 'POST' })).text();
    const uploadId = /<UploadId>([0-9a-f]+)<\/UploadId>/.exec(init)?.[1];
    expect(uploadId).toBeDefined();
    await fetch(`${base}/mp/obj?partNumber=1&uploadId=${uploadId}`, { method: 'PUT', body: 'abc' });

    const listed = await (await fetch(`${base}?uploads&prefix=mp/`)).text();
    expect(listed).toContain(`<Key>mp/obj</Key><UploadId>${uploadId}</UploadId>`);
    const parts = await (await fetch(`${base}/mp/obj?uploadId=${uploadId}`)).text();
    expect(parts).toContain('<PartNumber>1</PartNumber>');
    expect(parts).toContain('<Size>3</Size>');
    expect(parts).toContain('<ETag>"900150983cd24fb0d6963f7d28e17f72"</ETag>'); // md5("abc")

    const abort = await fetch(`${base}/mp/obj?uploadId=${uploadId}`, { method: 'DELETE' });
    expect(abort.status).toBe(204);
    expect(await (await fetch(`${base}?uploads`)).text()).not.toContain('<Upload>');
    const again = await fetch(`${base}/mp/obj?uploadId=${uploadId}`, { method: 'DELETE' });
    expect(again.status).toBe(404);
    expect(await again.text()).toContain('<Code>NoSuchUpload</Code>');
  });

  it('answers a ListObjectsV2 of fewer keys than the bucket holds (s3rver alone: 500)', async () => {
    const base = `${server.endpoint}/${bucket}`;
    for (const k of ['lv2/a', 'lv2/b', 'lv2/c'])
      await fetch(`${base}/${k}`, { method: 'PUT', body: k });
    // What an artifact store's start-up check asks: one key.
    const res = await fetch(`${base}?list-type=2&prefix=lv2/&max-keys=1`);
    expect(res.status).toBe(200);
    const xml = await res.text();
    for (const k of ['lv2/a', 'lv2/b', 'lv2/c']) expect(xml).toContain(`<Key>${k}</Key>`);
    expect(xml).toContain('<IsTruncated>false</IsTruncated>');
  });

  it('leaves unknown buckets to s3rver (NoSuchBucket)', async () => {
    const res = await fetch(`${server.endpoint}/${uniqueName('missing')}?uploads`);
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('NoSuchBucket');
  });

  it('closes idempotently and removes its directory', async () => {
    const other = await startS3Server();
    await other.createBucket(uniqueName('x'));
    expect(existsSync(other.directory)).toBe(true);
    await Promise.all([other.close(), other.close()]);
    expect(existsSync(other.directory)).toBe(false);
    await expect(fetch(`${other.endpoint}/`)).rejects.toThrow();
  });
});
