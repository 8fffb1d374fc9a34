/**
 * Runs every `*.bench.ts` in this directory (or those named on the command line), each exporting
 * `run(): Promise<Record<string, unknown>>`, and writes their figures to `bench/results/latest.json`
 * (plus a dated copy). Benchmarks measure; they never assert timings.
 */
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const round1 = (n: number) => Math.round(n * 10) / 10;
const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort();

const out = join(here, 'results');
const latestFile = join(out, 'latest.json');
// Benchmarks run one at a time or all together; each keeps its latest figures (with their date)
// in latest.json, so running one does not erase the others.
const previous = existsSync(latestFile)
  ? (JSON.parse(readFileSync(latestFile, 'utf8')) as { results?: Record<string, unknown> })
  : {};
const results: Record<string, unknown> = { ...previous.results };
for (const file of files) {
  const mod = (await import(pathToFileURL(join(here, file)).href)) as {
    run: () => Promise<Record<string, unknown>>;
  };
  const name = file.replace(/\.bench\.ts$/, '');
  process.stdout.write(`bench ${name} ...\n`);
  const started = Date.now();
  // The 1-minute load average before and after: these machines are shared, and a figure
  // measured at load 6 on 2 cores is read differently from one measured idle.
  const loadBefore = round1(loadavg()[0]!);
  const figures = await mod.run();
  results[name] = {
    measuredAt: new Date().toISOString(),
    load1: { before: loadBefore, after: round1(loadavg()[0]!) },
    ...figures,
  };
  // Every run's figures, kept (latest.json and the dated file keep only the last of a day).
  mkdirSync(out, { recursive: true });
  appendFileSync(
    join(out, 'runs.jsonl'),
    `${JSON.stringify({ bench: name, node: process.version, ...(results[name] as object) })}\n`,
  );
  process.stdout.write(`${JSON.stringify(results[name], null, 2)}\n(${Date.now() - started} ms)\n`);
}

const report = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model,
  memGiB: Math.round(totalmem() / 2 ** 30),
  results,
};
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(
  join(out, `${report.date.slice(0, 10)}.json`),
  `${JSON.stringify(report, null, 2)}\n`,
);
process.stdout.write(`figures written to ${join(out, 'latest.json')}\n`);
