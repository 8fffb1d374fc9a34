/**
 * TLS session resumption across API replicas: replicas given the same ticket keys
 * (API_TLS_TICKET_KEYS_FILE) resume each other's sessions, with the client's role intact;
 * a replica with other keys makes a full handshake; a bad keys file is a clear start-up error.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, type TempDir } from '@joblet/testkit';
import { startTestApi, type TestApi } from '../testing.js';
import { makeTestPki, type TestPki } from '../testing-pki.js';
import { readTicketKeys } from './security.js';

let pki: TestPki;
let tmp: TempDir;
const apis: TestApi[] = [];

/** One request on a new connection; the server's verdict on resumption and the session. */
function get(
  api: TestApi,
  session?: Buffer,
): Promise<{ status: number; resumed: boolean; session?: Buffer }> {
  const agent = pki.agent(pki.clients.reader, { keepAlive: false, maxCachedSessions: 0 });
  let resumed = false;
  const onConn = (s: TLSSocket) => (resumed = s.isSessionReused());
  api.app.server.once('secureConnection', onConn);
  return new Promise((resolve, reject) => {
    let ticket: Buffer | undefined;
    // `session` goes through to tls.connect (Node's types leave it out of RequestOptions).
    const options = { agent, session };
    const r = https.request(`${api.url}/v1/runtimes`, options, (res) => {
      res.resume();
      res.on('end', () => {
        agent.destroy();
        resolve({ status: res.statusCode ?? 0, resumed, session: ticket });
      });
    });
    r.on('socket', (s) => s.on('session', (t: Buffer) => (ticket = t)));
    r.on('error', reject);
    r.end();
  });
}

beforeAll(async () => {
  pki = await makeTestPki();
  tmp = await makeTempDir('api-tickets-');
  const file = join(tmp.path, 'ticket-keys');
  writeFileSync(file, `${randomBytes(48).toString('base64')}\n`);
  const shared = readTicketKeys(file);
  for (const ticketKeys of [shared, shared, randomBytes(48)]) {
    apis.push(
      await startTestApi(['amd64'], {
        listen: true,
        security: { mode: 'mtls', tls: { ...pki.tls(true), ticketKeys } },
      }),
    );
  }
});
afterAll(async () => {
  for (const api of apis) await api.close();
  await pki?.cleanup();
  await tmp?.cleanup();
});

describe('TLS sessions across API replicas', () => {
  it('a replica with the same ticket keys resumes the session, one with other keys does not', async () => {
    const [a, b, other] = apis as [TestApi, TestApi, TestApi];
    const first = await get(a);
    expect(first).toMatchObject({ status: 200, resumed: false });
    expect(first.session).toBeDefined();
    expect(await get(b, first.session)).toMatchObject({ status: 200, resumed: true });
    expect(await get(other, first.session)).toMatchObject({ status: 200, resumed: false });
  });

  it('refuses a keys file that is not 48 bytes of base64, naming the variable', () => {
    const short = join(tmp.path, 'short');
    writeFileSync(short, randomBytes(32).toString('base64'));
    expect(() => readTicketKeys(short)).toThrow(
      /API_TLS_TICKET_KEYS_FILE: .*short must hold 48 bytes in base64 .*not 32/,
    );
    const text = join(tmp.path, 'text');
    writeFileSync(text, 'not base64 at all!');
    expect(() => readTicketKeys(text)).toThrow(/API_TLS_TICKET_KEYS_FILE/);
    expect(() => readTicketKeys(join(tmp.path, 'missing'))).toThrow(
      /API_TLS_TICKET_KEYS_FILE: cannot read/,
    );
  });
});
