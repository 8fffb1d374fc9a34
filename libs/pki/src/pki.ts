/**
 * A small PKI for the farm, made with the openssl CLI: a CA, and leaf certificates it signs
 * (server certs with SANs, client certs whose OU names a role). EC P-256 keys: quick handshakes.
 * Leaves are signed with `openssl ca` so that validity dates can be set exactly (tests make
 * expired certificates); its bookkeeping lives in a temporary directory.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PkiError, PkiErrorCode } from './errors.js';
import { openssl } from './openssl.js';

export interface KeyPair {
  cert: string;
  key: string;
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
export const ORG = 'Joblet Runtime Farm';

/** A DN component: no `/`, `=`, `+`, `\` or control characters (openssl's -subj syntax). */
function dnValue(label: string, v: string): string {
  if (!/^[A-Za-z0-9 ._@-]{1,64}$/.test(v))
    throw new PkiError(
      `${label} "${v}": use letters, digits, space, ".", "_", "@", "-"`,
      PkiErrorCode.InvalidArgument,
    );
  return v;
}

export async function createCa(dir: string, days: number, cn = `${ORG} CA`): Promise<KeyPair> {
  const pair = { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
  await openssl([
    'req',
    '-x509',
    '-new',
    ...EC_KEY,
    '-keyout',
    pair.key,
    '-out',
    pair.cert,
    '-days',
    String(days),
    '-subj',
    `/O=${ORG}/CN=${dnValue('CA name', cn)}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE,pathlen:0',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await chmod(pair.key, 0o600);
  return pair;
}

/** `dns:host`, `ip:addr` → openssl's `DNS:host`, `IP:addr`. */
export function parseSan(s: string): string {
  const m = /^(dns|ip):(.+)$/i.exec(s);
  const kind = m?.[1]?.toLowerCase();
  const value = m?.[2] ?? '';
  if (kind === 'ip' && isIP(value)) return `IP:${value}`;
  if (
    kind === 'dns' &&
    /^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9-]{1,63})*$/.test(value)
  )
    return `DNS:${value}`;
  throw new PkiError(
    `--san ${s}: use dns:<hostname> or ip:<address>`,
    PkiErrorCode.InvalidArgument,
  );
}

export interface LeafOptions {
  ca: KeyPair;
  out: KeyPair;
  kind: 'server' | 'client';
  cn: string;
  /** Client certificates: the role. */
  ou?: string;
  /** Server certificates: `DNS:…`/`IP:…` entries. */
  sans?: string[];
  /** Valid from now for this many days, or exactly between two dates. */
  validity: { days: number } | { notBefore: Date; notAfter: Date };
}

/** openssl ca's date form: YYYYMMDDHHMMSSZ. */
const asn1Time = (d: Date) => `${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;

export async function issueLeaf(o: LeafOptions): Promise<KeyPair> {
  const work = await mkdtemp(join(tmpdir(), 'rnx-pki-'));
  try {
    const csr = join(work, 'leaf.csr');
    const subj = `/O=${ORG}${o.ou ? `/OU=${dnValue('OU', o.ou)}` : ''}/CN=${dnValue('CN', o.cn)}`;
    await openssl(['req', '-new', ...EC_KEY, '-keyout', o.out.key, '-out', csr, '-subj', subj]);
    await chmod(o.out.key, 0o600);
    const ext = [
      'basicConstraints = critical,CA:FALSE',
      'keyUsage = critical,digitalSignature,keyEncipherment',
      `extendedKeyUsage = ${o.kind === 'server' ? 'serverAuth' : 'clientAuth'}`,
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid',
      ...(o.sans?.length ? [`subjectAltName = ${o.sans.join(',')}`] : []),
    ];
    await writeFile(join(work, 'index.txt'), '');
    // `-rand_serial` picks the serial; openssl still wants the file named.
    await writeFile(join(work, 'serial'), `${randomBytes(16).toString('hex')}\n`);
    await writeFile(
      join(work, 'ca.cnf'),
      [
        '[ ca ]',
        'default_ca = farm',
        '[ farm ]',
        `database = ${join(work, 'index.txt')}`,
        `new_certs_dir = ${work}`,
        `serial = ${join(work, 'serial')}`,
        'default_md = sha256',
        'policy = any',
        'unique_subject = no',
        '[ any ]',
        'organizationName = optional',
        'organizationalUnitName = optional',
        'commonName = supplied',
        '[ leaf ]',
        ...ext,
        '',
      ].join('\n'),
    );
    const dates =
      'days' in o.validity
        ? ['-days', String(o.validity.days)]
        : ['-startdate', asn1Time(o.validity.notBefore), '-enddate', asn1Time(o.validity.notAfter)];
    await openssl([
      'ca',
      '-batch',
      '-notext',
      '-rand_serial',
      '-preserveDN',
      '-config',
      join(work, 'ca.cnf'),
      '-cert',
      o.ca.cert,
      '-keyfile',
      o.ca.key,
      '-extensions',
      'leaf',
      ...dates,
      '-in',
      csr,
      '-out',
      o.out.cert,
    ]);
    return o.out;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
