/**
 * Fuzzing the API's JSON inputs through `app.inject()`: random JSON, valid bodies with one field
 * replaced, removed or added, bodies mangled byte by byte, hostile shapes (deep nesting,
 * `__proto__`, huge strings, wrong content types). The server must answer every one with a 2xx
 * or 4xx — never a 500 — stay up, and keep its memory bounded.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishFakeRuntime, registerNode, startTestApi, type TestApi } from '../testing.js';

const SPEC = readFileSync(
  new URL('../../../../examples/python-3.11/runtime.yaml', import.meta.url),
  'utf8',
);

/** A valid body for each route; mutations start from these. */
const VALID: Record<string, Record<string, unknown>> = {
  '/v1/builds': { spec: SPEC, filename: 'runtime.yaml', architectures: ['amd64'], force: false },
  '/v1/runtimes/validate': { spec: SPEC, filename: 'runtime.yaml' },
  '/v1/jobs': {
    command: 'python3',
    args: ['-c', 'print(1)'],
    runtime: 'python-3.11',
    uploads: [{ path: 'src/a.py', content: Buffer.from('print(1)').toString('base64'), mode: 420 }],
    env: { A: '1' },
    limits: { maxMemoryMB: 64, timeoutS: 30 },
    network: 'none',
  },
  '/v1/tokens': { role: 'reader', ttl: '30d', name: 'ci' },
};
const ROUTES = Object.keys(VALID);

const hostileString = fc.oneof(
  fc.string({ maxLength: 64 }),
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.constantFrom(
    '../../etc/passwd',
    '/etc/shadow',
    '\u0000',
    '\ud800',
    '__proto__',
    'constructor',
    '-1',
    '1e309',
    'x'.repeat(70_000),
    'a: &a [*a]',
    '{{7*7}}',
  ),
);
const weird: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  hostileString,
  fc.constantFrom(null, -1, 0, 1e308, -0, 2 ** 53 + 1, [], {}, [[[[[]]]]], true),
);

/** One change to a valid body: a field replaced, removed or added, at the top or one level down. */
function mutated(base: Record<string, unknown>): fc.Arbitrary<unknown> {
  const keys = Object.keys(base);
  return fc.oneof(
    fc.tuple(fc.constantFrom(...keys), weird).map(([k, v]) => ({ ...base, [k]: v })),
    fc
      .constantFrom(...keys)
      .map((k) => Object.fromEntries(Object.entries(base).filter(([x]) => x !== k))),
    fc
      .tuple(fc.oneof(fc.string({ maxLength: 16 }), fc.constant('__proto__')), weird)
      .map(([k, v]) => {
        const out: Record<string, unknown> = { ...base };
        Object.defineProperty(out, k, {
          value: v,
          enumerable: true,
          configurable: true,
          writable: true,
        });
        return out;
      }),
    fc.tuple(fc.constantFrom(...keys), fc.string({ maxLength: 12 }), weird).map(([k, inner, v]) => {
      const field = base[k];
      const nested = Array.isArray(field)
        ? [...(field as unknown[]), v]
        : typeof field === 'object' && field
          ? { ...field, [inner]: v }
          : [field, v];
      return { ...base, [k]: nested };
    }),
  );
}

/** The valid body's JSON text with bytes flipped, cut or inserted. */
function mangled(base: Record<string, unknown>): fc.Arbitrary<string> {
  const text = JSON.stringify(base);
  return fc
    .array(
      fc.tuple(
        fc.nat({ max: text.length }),
        fc.string({ unit: 'binary', maxLength: 3 }),
        fc.nat({ max: 3 }),
      ),
      {
        minLength: 1,
        maxLength: 4,
      },
    )
    .map((edits) =>
      edits.reduce((s, [at, insert, cut]) => s.slice(0, at) + insert + s.slice(at + cut), text),
    );
}

let t: TestApi;
const failures: string[] = [];

beforeAll(async () => {
  // Rate limits off: this is about what the handlers do with the input.
  t = await startTestApi(['amd64'], { security: { rateLimit: { requests: 0, windowS: 10 } } });
  await publishFakeRuntime(t, 'python-3.11', '1.0.0', ['amd64']);
  await registerNode(t, 'node-a', 'amd64', ['python-3.11@1.0.0']);
});
afterAll(() => t.close());

async function send(
  url: string,
  payload: string,
  contentType = 'application/json',
): Promise<boolean> {
  const res = await t.app.inject({
    method: 'POST',
    url,
    payload,
    headers: { 'content-type': contentType },
  });
  if (res.statusCode >= 500)
    failures.push(`${url} ${res.statusCode} ${payload.slice(0, 300)} → ${res.body}`);
  return res.statusCode < 500;
}

describe('fuzzing JSON inputs', () => {
  const heapBefore = process.memoryUsage().heapUsed;

  it.each(ROUTES)('%s: random JSON, mutated and mangled bodies never get a 500', async (url) => {
    const base = VALID[url]!;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue({ maxDepth: 5 }).map((v) => JSON.stringify(v) ?? 'null'),
          mutated(base).map((v) => JSON.stringify(v) ?? 'null'),
          mangled(base),
        ),
        (payload) => send(url, payload),
      ),
      { numRuns: 400, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31) },
    );
    expect(failures).toEqual([]);
  });

  it.each(ROUTES)('%s: hostile shapes are 4xx', async (url) => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const payloads: [string, string?][] = [
      [deep],
      [`{"spec":${deep}}`],
      ['{"__proto__":{"admin":true},"role":"admin"}'],
      ['{"constructor":{"prototype":{"x":1}}}'],
      [`{"spec":"${'x'.repeat(300 * 1024)}"}`],
      [JSON.stringify({ spec: 'x'.repeat(3 * 1024 * 1024) })],
      [''],
      ['null'],
      ['\u0000\u0001'],
      [JSON.stringify(VALID[url]), 'text/plain'],
      [JSON.stringify(VALID[url]), 'application/x-www-form-urlencoded'],
      ['{"a":1}', 'application/json; charset=utf-16'],
    ];
    for (const [payload, type] of payloads) expect(await send(url, payload, type)).toBe(true);
    expect(failures).toEqual([]);
    // Still serving.
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });

  it('memory stays bounded over the whole run', () => {
    const grownMiB = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
    expect(grownMiB).toBeLessThan(256);
  });
});
