/**
 * Real certificates for tests and benchmarks, made by the same code as `rnx admin certs init`
 * (openssl): the farm's CA, server and per-role client certificates, plus an expired client
 * certificate from that CA and a client certificate from a foreign CA.
 */
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { makeTempDir, type TempDir } from '@joblet/testkit';
import { certsInit, createCa, issueLeaf, type CertsInitResult, type KeyPair } from '@joblet/pki';
import type { TlsMaterial } from './auth/security.js';

export interface TestPki extends CertsInitResult {
  /** A developer certificate from the farm's CA whose validity ended yesterday. */
  expired: KeyPair;
  /** An admin certificate signed by a CA the farm does not know. */
  foreign: KeyPair & { ca: string };
  tls(requireClientCert: boolean): TlsMaterial;
  /** A keep-alive agent presenting `pair` (or nothing) and trusting the farm's CA. */
  agent(pair?: KeyPair, opts?: https.AgentOptions): https.Agent;
  cleanup(): Promise<void>;
}

export async function makeTestPki(): Promise<TestPki> {
  const tmp: TempDir = await makeTempDir('pki-');
  const farm = await certsInit({ dir: join(tmp.path, 'farm'), days: 30 });
  const day = 24 * 3600 * 1000;
  const expired = await issueLeaf({
    ca: farm.ca,
    out: { cert: join(farm.dir, 'expired.crt'), key: join(farm.dir, 'expired.key') },
    kind: 'client',
    cn: 'expired-client',
    ou: 'developer',
    validity: { notBefore: new Date(Date.now() - 2 * day), notAfter: new Date(Date.now() - day) },
  });
  const otherDir = join(tmp.path, 'foreign');
  await mkdir(otherDir);
  const otherCa = await createCa(otherDir, 30, 'Someone Else CA');
  const foreign = await issueLeaf({
    ca: otherCa,
    out: { cert: join(otherDir, 'admin.crt'), key: join(otherDir, 'admin.key') },
    kind: 'client',
    cn: 'admin-client',
    ou: 'admin',
    validity: { days: 30 },
  });
  const read = (p: string) => readFileSync(p);
  return {
    ...farm,
    expired,
    foreign: { ...foreign, ca: otherCa.cert },
    tls: (requireClientCert) => ({
      cert: read(farm.server.cert),
      key: read(farm.server.key),
      ca: read(farm.ca.cert),
      requireClientCert,
    }),
    agent: (pair, opts = {}) => {
      // One parsed context for all of this agent's connections (as `rnx` does), instead of
      // parsing the PEM files again for each handshake; TLS versions and ciphers live in it.
      const { minVersion, maxVersion, ciphers, ...agentOpts } = opts;
      return new https.Agent({
        keepAlive: true,
        secureContext: createSecureContext({
          ca: read(farm.ca.cert),
          ...(pair ? { cert: read(pair.cert), key: read(pair.key) } : {}),
          ...(minVersion ? { minVersion } : {}),
          ...(maxVersion ? { maxVersion } : {}),
          ...(ciphers ? { ciphers } : {}),
        }),
        ...agentOpts,
      });
    },
    cleanup: () => tmp.cleanup(),
  };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP(S) request over `agent`; rejects with the socket error (e.g. a TLS alert). */
export function request(
  url: string,
  opts: {
    method?: string;
    agent?: http.Agent;
    headers?: Record<string, string>;
    body?: unknown;
  } = {},
): Promise<RawResponse> {
  const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  return new Promise((resolve, reject) => {
    const req = (url.startsWith('https:') ? https : http).request(
      url,
      {
        method: opts.method ?? 'GET',
        agent: opts.agent,
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...opts.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
