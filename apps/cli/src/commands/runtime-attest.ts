/**
 * `rnx runtime sbom <ref> [--arch A] [--format spdx|cyclonedx]`: prints the runtime's SBOM as
 * stored (the server checks it against the signed manifest first).
 * `rnx runtime provenance <ref> [--arch A] [--verify] [--trusted-key FILE]…`: prints the
 * in-toto statement; with --verify, checks here — not on the server — that its DSSE envelope
 * is signed by a trusted key, that it is about the artifact the index publishes, and that the
 * manifest listing it is signed too, and says which key verified it.
 */
import { createHash } from 'node:crypto';
import {
  ArtifactManifest,
  ProvenanceStatement,
  shortKeyId,
  verifyEnvelope,
  verifyManifestSignatures,
} from '@joblet/artifact';
import { RuntimeProvenanceResponse, SBOM_FORMATS, type SbomFormat } from '@joblet/spec';
import { z } from 'zod';
import type { ApiClient } from '../api-client.js';
import type { CommandDef } from '../command.js';
import type { CliEnv } from '../env.js';
import { CliError, UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { paint, type Io } from '../io.js';
import { cliTrustedKeys } from '../signing/trusted-keys.js';
import { collect } from './parsers.js';

function query(params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

export async function runtimeSbom(
  client: ApiClient,
  ref: string,
  opts: { arch?: string; format?: string },
  io: Io,
): Promise<number> {
  const format = (opts.format ?? 'spdx') as SbomFormat;
  if (!SBOM_FORMATS.includes(format)) {
    throw new UsageError(`--format must be one of ${SBOM_FORMATS.join(', ')}, not ${opts.format}`);
  }
  const doc = await client.get(
    `/v1/runtimes/${encodeURIComponent(ref)}/sbom${query({ arch: opts.arch, format })}`,
    z.record(z.string(), z.unknown()),
  );
  io.out(JSON.stringify(doc, null, 2));
  return EXIT.OK;
}

export interface ProvenanceOptions {
  arch?: string;
  verify?: boolean;
  trustedKey?: string[];
  envelope?: boolean;
}

export async function runtimeProvenance(
  client: ApiClient,
  env: CliEnv,
  ref: string,
  opts: ProvenanceOptions,
  io: Io,
): Promise<number> {
  // Keys first: a verify without any key is a usage error, whatever the server says.
  const trusted = opts.verify ? cliTrustedKeys(env, opts.trustedKey) : undefined;
  const r = await client.get(
    `/v1/runtimes/${encodeURIComponent(ref)}/provenance${query({ arch: opts.arch })}`,
    RuntimeProvenanceResponse,
  );
  const what = `the provenance of ${r.name}@${r.version} (${r.arch})`;
  let envelope: unknown;
  try {
    envelope = JSON.parse(r.envelope);
  } catch {
    throw new CliError(`${what} is not JSON`);
  }
  if (!trusted) {
    if (opts.envelope) io.out(JSON.stringify(envelope, null, 2));
    else {
      const payload = (envelope as { payload?: unknown }).payload;
      const text = typeof payload === 'string' ? Buffer.from(payload, 'base64').toString() : '';
      io.out(JSON.stringify(JSON.parse(text || 'null'), null, 2));
    }
    return EXIT.OK;
  }
  const keyList = trusted.keys.map((k) => shortKeyId(k.keyId)).join(', ');
  const v = verifyEnvelope(envelope, trusted.keys);
  if (!v.ok) {
    throw new CliError(
      `${what} does not verify: ${v.reason}; trusted keys: ${keyList} (${trusted.from})`,
    );
  }
  const st = ProvenanceStatement.safeParse(JSON.parse(v.payload.toString('utf8')));
  if (!st.success) throw new CliError(`${what} is signed but is not an in-toto SLSA v1 statement`);
  const digests = st.data.subject.map((s) => s.digest.sha256);
  if (!digests.includes(r.sha256) || !digests.includes(r.treeHash)) {
    throw new CliError(
      `${what} is signed but about another artifact: its subjects are ${digests.join(', ')}, ` +
        `the published archive is sha256 ${r.sha256} with tree hash ${r.treeHash}`,
    );
  }
  const m = ArtifactManifest.safeParse(r.manifest);
  const mv = m.success ? verifyManifestSignatures(m.data, trusted.keys) : undefined;
  const listed = m.success ? m.data.attachments?.find((a) => a.kind === 'provenance') : undefined;
  const envelopeSha = createHash('sha256').update(r.envelope).digest('hex');
  if (!m.success || !mv?.ok || m.data.sha256 !== r.sha256 || listed?.sha256 !== envelopeSha) {
    const why = !m.success
      ? 'the manifest is invalid'
      : !mv?.ok
        ? `the manifest ${mv?.reason ?? 'does not verify'}`
        : m.data.sha256 !== r.sha256
          ? 'the manifest is about another archive'
          : "the manifest does not list this envelope's sha256";
    throw new CliError(`${what} is signed, but ${why}; trusted keys: ${keyList} (${trusted.from})`);
  }
  const run = st.data.predicate.runDetails;
  io.out(`${paint(io, 'green', '✓')} ${what} verified: signed by key ${v.keyId}`);
  io.out(`  subject   archive sha256 ${r.sha256}, tree ${r.treeHash}`);
  io.out(`  builder   ${run.builder.id}`);
  if (run.metadata)
    io.out(
      `  built     ${run.metadata.startedOn} → ${run.metadata.finishedOn} (build ${run.metadata.invocationId})`,
    );
  io.out(`  manifest  signed by key ${mv.keyId}; lists this envelope (sha256 ${envelopeSha})`);
  return EXIT.OK;
}

export const commands: readonly CommandDef[] = [
  {
    path: 'runtime sbom',
    define: (cmd, { io, state, client }) =>
      cmd
        .description("print a runtime's SBOM (SPDX 2.3 or CycloneDX 1.5 JSON)")
        .argument('<ref>', 'name, name@1.2.3, name@latest or language:version')
        .option('--arch <arch>', 'amd64 or arm64 (default: the first the runtime has)')
        .option('--format <format>', `${SBOM_FORMATS.join(' or ')}`, 'spdx')
        .action(async (ref: string, o: { arch?: string; format?: string }) => {
          state.exitCode = await runtimeSbom(client(), ref, o, io);
        }),
  },
  {
    path: 'runtime provenance',
    define: (cmd, { io, state, client, env }) =>
      cmd
        .description("print a runtime's signed build provenance (in-toto, SLSA v1), or verify it")
        .argument('<ref>', 'name, name@1.2.3, name@latest or language:version')
        .option('--arch <arch>', 'amd64 or arm64 (default: the first the runtime has)')
        .option('--verify', 'check the signature with the keys the agents trust, here')
        .option('--trusted-key <file>', 'a trusted public key (PEM), repeatable', collect, [])
        .option('--envelope', 'print the DSSE envelope as stored instead of the statement')
        .action(async (ref: string, o: ProvenanceOptions) => {
          state.exitCode = await runtimeProvenance(client(), env, ref, o, io);
        }),
  },
];
