/**
 * `rnx runtime validate <file-or-dir>`: offline by default; with a server configured, the server's
 * answer (its catalog is the one that builds) replaces the offline one.
 * Exit codes: 0 valid, 1 invalid, 2 usage error, 3 server unreachable.
 */
import { Option } from 'commander';
import { summarizeSpec, validateRuntimeSpec, ValidateResponse, builtinCatalog } from '@joblet/spec';
import type { DiagnosticBody, SpecSummary } from '@joblet/spec';
import { basename } from 'node:path';
import { ApiClient } from '../api-client.js';
import type { ServerConfig } from '../config.js';
import { EXIT } from '../exit-codes.js';
import { paint, type Io } from '../io.js';
import { countLine, renderDiagnostic, renderSummary } from '../render/diagnostics.js';
import { githubAnnotation } from '../render/github-annotations.js';
import { readSpecBytes, resolveSpecPath } from '../spec-file.js';
import type { CommandDef } from '../command.js';

export interface ValidateOptions {
  json?: boolean;
  /** `github`: one workflow command per diagnostic, as GitHub Actions annotations. */
  format?: 'text' | 'json' | 'github';
  /** Skip the server even when one is configured. */
  offline?: boolean;
  server?: ServerConfig;
}

export interface ValidateReport {
  file: string;
  valid: boolean;
  checkedBy: 'offline' | 'server';
  server?: string;
  errors: DiagnosticBody[];
  warnings: DiagnosticBody[];
  summary?: SpecSummary;
  exists?: boolean;
  workers?: Record<string, number>;
}

/** Server diagnostics name the file by its base name; show the path the user typed instead. */
function relabel(ds: DiagnosticBody[], from: string, to: string): DiagnosticBody[] {
  return ds.map((d) => (d.file === from ? { ...d, file: to } : d));
}

export async function validateSpecFile(
  target: string,
  opts: ValidateOptions,
): Promise<ValidateReport> {
  const file = resolveSpecPath(target);
  const { bytes } = readSpecBytes(file);
  const offline = validateRuntimeSpec(bytes, { file });
  const report: ValidateReport = {
    file,
    valid: offline.ok,
    checkedBy: 'offline',
    errors: offline.errors,
    warnings: offline.warnings,
    summary: offline.spec
      ? summarizeSpec(offline.spec, builtinCatalog, ['amd64', 'arm64'])
      : undefined,
  };
  // A spec that is not even text (bad UTF-8, too large) gets nothing more from the server.
  const unreadable = offline.errors.some((e) => e.code === 'ENCODING' || e.code === 'TOO_LARGE');
  if (!opts.server || opts.offline || unreadable) return report;

  const client = new ApiClient(opts.server);
  const name = basename(file);
  const res = await client.post(
    '/v1/runtimes/validate',
    { spec: Buffer.from(bytes).toString('utf8'), filename: name },
    ValidateResponse,
  );
  return {
    file,
    valid: res.valid,
    checkedBy: 'server',
    server: client.url,
    errors: relabel(res.errors, name, file),
    warnings: relabel(res.warnings, name, file),
    summary: res.summary,
    exists: res.server.exists,
    workers: res.server.workers,
  };
}

export async function runtimeValidate(
  target: string,
  opts: ValidateOptions,
  io: Io,
): Promise<number> {
  const report = await validateSpecFile(target, opts);
  if (opts.json || opts.format === 'json') {
    io.out(JSON.stringify(report, null, 2));
  } else if (opts.format === 'github') {
    for (const d of [...report.errors, ...report.warnings]) io.out(githubAnnotation(d));
    io.out(
      `${report.file}: ${report.valid ? 'valid' : `invalid, ${countLine(report.errors.length, report.warnings.length)}`}`,
    );
  } else {
    printReport(io, report);
  }
  return report.valid ? EXIT.OK : EXIT.FAILED;
}

function printReport(io: Io, r: ValidateReport): void {
  const by = r.checkedBy === 'server' ? `checked by ${r.server}` : 'checked offline';
  if (r.valid) {
    io.out(`${paint(io, 'green', '✓')} ${r.file} is valid ${paint(io, 'dim', `(${by})`)}`);
    if (r.summary) for (const line of renderSummary(io, r.summary)) io.out(line);
    if (r.workers) {
      const pools = Object.entries(r.workers).map(([arch, n]) => `${arch} ${n}`);
      io.out(`  ${paint(io, 'dim', 'Workers:'.padEnd(15))}${pools.join(', ') || 'none online'}`);
    }
    for (const w of r.warnings) io.out(renderDiagnostic(io, w));
    return;
  }
  io.out(
    `${paint(io, 'red', '✗')} ${r.file} is invalid: ${countLine(r.errors.length, r.warnings.length)} ${paint(io, 'dim', `(${by})`)}`,
  );
  for (const e of r.errors) io.out(renderDiagnostic(io, e, '  '));
  for (const w of r.warnings) io.out(renderDiagnostic(io, w, '  '));
}

export const commands: readonly CommandDef[] = [
  {
    path: 'runtime validate',
    define: (cmd, { io, state, server }) =>
      cmd
        .description(
          'validate a runtime.yaml (offline; also server-side when a server is configured)',
        )
        .argument(
          '<file-or-dir>',
          'a runtime.yaml, or a directory holding runtime.yaml / runtime.yml',
        )
        .option('--json', 'print the report as JSON')
        .addOption(
          new Option(
            '--format <format>',
            'text, json, or github (diagnostics as GitHub Actions annotations)',
          )
            .choices(['text', 'json', 'github'])
            .default('text'),
        )
        .addOption(new Option('--offline', 'do not ask the server even when one is configured'))
        .action(async (target: string, opts: Omit<ValidateOptions, 'server'>) => {
          state.exitCode = await runtimeValidate(
            target,
            { ...opts, server: opts.offline ? undefined : server() },
            io,
          );
        }),
  },
];
