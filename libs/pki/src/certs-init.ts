/**
 * `rnx admin certs init`: a CA, a server certificate with SANs, and one client certificate per
 * role (OU = role, CN = `<role>-client`) in one directory.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ROLES, type Role } from '@joblet/spec';
import { PkiError, PkiErrorCode } from './errors.js';
import { createCa, issueLeaf, parseSan, type KeyPair } from './pki.js';

export interface CertsInitOptions {
  dir: string;
  /** The server certificate's CN; also a DNS SAN when it is a name. */
  serverName?: string;
  /** `dns:…` / `ip:…`; default `dns:localhost`, `ip:127.0.0.1`. */
  sans?: string[];
  /** Validity of the server and client certificates (the CA gets at least ten years). */
  days?: number;
  /** Replace an existing CA in the directory. */
  force?: boolean;
}

export interface CertsInitResult {
  dir: string;
  ca: KeyPair;
  server: KeyPair & { sans: string[] };
  clients: Record<Role, KeyPair>;
}

export async function certsInit(o: CertsInitOptions): Promise<CertsInitResult> {
  const dir = resolve(o.dir);
  const days = o.days ?? 365;
  if (!Number.isInteger(days) || days < 1 || days > 3650)
    throw new PkiError('--days: a whole number of days, 1 to 3650', PkiErrorCode.InvalidArgument);
  if (!o.force && existsSync(join(dir, 'ca.crt')))
    throw new PkiError(
      `${join(dir, 'ca.crt')} exists; use --force to replace the whole set`,
      PkiErrorCode.InvalidArgument,
    );
  const serverName = o.serverName ?? 'localhost';
  const sans = (o.sans?.length ? o.sans : ['dns:localhost', 'ip:127.0.0.1']).map(parseSan);
  const nameSan = parseSan(
    /^[\d.]+$|:/.test(serverName) ? `ip:${serverName}` : `dns:${serverName}`,
  );
  if (!sans.includes(nameSan)) sans.unshift(nameSan);

  await mkdir(dir, { recursive: true, mode: 0o700 });
  const ca = await createCa(dir, Math.max(3650, days + 1));
  const validity = { days };
  const server = await issueLeaf({
    ca,
    out: { cert: join(dir, 'server.crt'), key: join(dir, 'server.key') },
    kind: 'server',
    cn: serverName,
    sans,
    validity,
  });
  const clients = {} as Record<Role, KeyPair>;
  for (const role of ROLES) {
    clients[role] = await issueLeaf({
      ca,
      out: { cert: join(dir, `${role}.crt`), key: join(dir, `${role}.key`) },
      kind: 'client',
      cn: `${role}-client`,
      ou: role,
      validity,
    });
  }
  return { dir, ca, server: { ...server, sans }, clients };
}
