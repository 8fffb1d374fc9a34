import { describe, expect, it } from 'vitest';
import {
  generateSigningKeyPair,
  parseSigningKey,
  parseTrustedKey,
} from '../manifest/signing-keys.js';
import { IN_TOTO_PAYLOAD_TYPE, pae, signEnvelope, verifyEnvelope } from './dsse.js';
import { ProvenanceStatement, provenanceStatement } from './statement.js';

function keyPair() {
  const g = generateSigningKeyPair();
  return { signing: parseSigningKey(g.privateKeyPem), trusted: parseTrustedKey(g.publicKeyPem) };
}

const statement = provenanceStatement({
  subject: {
    name: 'python-3.11',
    version: '1.0.0',
    arch: 'amd64',
    sha256: 'a'.repeat(64),
    treeHash: 'b'.repeat(64),
    buildKey: 'c'.repeat(64),
    builtAt: '2026-12-07T23:00:00.000Z',
    builderVersion: '0.1.0',
  },
  specText: 'name: python-3.11\n',
  catalogEntry: { language: 'python', version: '3.11', suite: 'bookworm' },
  baseRoot: {
    uri: 'joblet-base:debian/bookworm/amd64',
    meta: { created: '2026-12-07T23:20:33.324Z' },
  },
  toolchainFiles: [],
  resolved: { system: ['libc6=2.36-9'], pip: ['six==1.16.0'], npm: ['left-pad@1.3.0'] },
  workerName: 'worker-1',
  buildId: 'b-1',
  startedOn: new Date('2026-12-07T22:58:00Z'),
  finishedOn: new Date('2026-12-07T23:00:00Z'),
});
const body = Buffer.from(JSON.stringify(statement));

describe('pae', () => {
  it('is the DSSE v1 pre-authentication encoding with byte lengths', () => {
    expect(pae('http://example.com/HelloWorld', Buffer.from('hello world')).toString()).toBe(
      'DSSEv1 29 http://example.com/HelloWorld 11 hello world',
    );
    expect(pae('t', Buffer.from('é')).toString()).toBe('DSSEv1 1 t 2 é');
  });
});

describe('DSSE envelopes', () => {
  it('verify with the key that signed them and say which key that was', () => {
    const k = keyPair();
    const other = keyPair();
    const env = signEnvelope(IN_TOTO_PAYLOAD_TYPE, body, [k.signing]);
    const v = verifyEnvelope(JSON.parse(JSON.stringify(env)), [other.trusted, k.trusted]);
    expect(v).toMatchObject({ ok: true, keyId: k.signing.keyId });
    expect(
      ProvenanceStatement.parse(JSON.parse(v.ok ? v.payload.toString() : '')).subject[0]!.digest,
    ).toEqual({
      sha256: 'a'.repeat(64),
    });
  });

  it('refuse any changed byte of the payload, the type or the signature', () => {
    const k = keyPair();
    const env = signEnvelope(IN_TOTO_PAYLOAD_TYPE, body, [k.signing]);
    const payload = Buffer.from(env.payload, 'base64');
    for (const i of [0, Math.floor(payload.length / 2), payload.length - 1]) {
      const changed = Buffer.from(payload);
      changed[i] = changed[i]! ^ 1;
      const v = verifyEnvelope({ ...env, payload: changed.toString('base64') }, [k.trusted]);
      expect(v).toEqual({ ok: false, reason: expect.stringMatching(/signature does not verify/) });
    }
    const sig = Buffer.from(env.signatures[0]!.sig, 'base64');
    sig[10] = sig[10]! ^ 1;
    expect(
      verifyEnvelope(
        { ...env, signatures: [{ ...env.signatures[0]!, sig: sig.toString('base64') }] },
        [k.trusted],
      ).ok,
    ).toBe(false);
    const retyped = signEnvelope('application/json', body, [k.signing]);
    expect(verifyEnvelope({ ...retyped, payloadType: IN_TOTO_PAYLOAD_TYPE }, [k.trusted]).ok).toBe(
      false,
    );
    expect(verifyEnvelope(retyped, [k.trusted])).toEqual({
      ok: false,
      reason: 'payloadType is "application/json", expected "application/vnd.in-toto+json"',
    });
  });

  it('refuse unsigned envelopes, unknown keys, other documents and manifest signatures', () => {
    const k = keyPair();
    const stranger = keyPair();
    const env = signEnvelope(IN_TOTO_PAYLOAD_TYPE, body, [stranger.signing]);
    expect(verifyEnvelope({ ...env, signatures: [] }, [k.trusted])).toEqual({
      ok: false,
      reason: 'the envelope is not signed',
    });
    expect(verifyEnvelope(env, [k.trusted])).toEqual({
      ok: false,
      reason: expect.stringMatching(/not a trusted key/),
    });
    expect(verifyEnvelope(statement, [k.trusted])).toEqual({
      ok: false,
      reason: expect.stringMatching(/^not a DSSE envelope \(payload/),
    });
    expect(() => signEnvelope(IN_TOTO_PAYLOAD_TYPE, body, [])).toThrow(/no signing key/);
  });
});

describe('provenanceStatement', () => {
  it('is an in-toto v1 statement with a SLSA v1 predicate naming the worker, the inputs and the times', () => {
    const s = ProvenanceStatement.parse(JSON.parse(body.toString()));
    expect(s.subject.map((x) => x.digest.sha256)).toEqual(['a'.repeat(64), 'b'.repeat(64)]);
    expect(s.predicate.runDetails.builder.id).toBe('https://joblet.dev/builders/worker-1/amd64');
    expect(s.predicate.runDetails.metadata).toEqual({
      invocationId: 'b-1',
      startedOn: '2026-12-07T22:58:00.000Z',
      finishedOn: '2026-12-07T23:00:00.000Z',
    });
    const deps = s.predicate.buildDefinition.resolvedDependencies!;
    expect(deps[0]).toMatchObject({
      uri: 'joblet-base:debian/bookworm/amd64',
      annotations: { kind: 'base-root' },
    });
    expect(deps.map((d) => d.name).filter(Boolean)).toEqual([
      'libc6=2.36-9',
      'six==1.16.0',
      'left-pad@1.3.0',
    ]);
    expect(s.predicate.buildDefinition.externalParameters.spec).toMatchObject({
      name: 'python-3.11',
      version: '1.0.0',
    });
  });
});
