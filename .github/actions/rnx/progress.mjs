// Reads `rnx runtime build --progress=json` events (NDJSON) on stdin and tells GitHub about them:
// a readable line per event in the log (build output folded into a group per architecture), an
// error annotation per failed architecture, the build id and final state as step outputs, and a
// table of the architectures in the job summary. The exit code is rnx's (the step's pipefail).
import { appendFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const append = (file, text) => file && appendFileSync(file, text);
const escape = (s) => String(s).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const rows = new Map();
let inGroup = '';
const group = (arch) => {
  if (inGroup === arch) return;
  if (inGroup) console.log('::endgroup::');
  if (arch) console.log(`::group::${arch} build output`);
  inGroup = arch;
};

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const e = JSON.parse(line);
  if (e.type !== 'log') group('');
  switch (e.type) {
    case 'queued':
      console.log(`Building ${e.name} ${e.version} for ${e.arches.join(', ')} (build ${e.build})`);
      append(process.env.GITHUB_OUTPUT, `build-id=${e.build}\n`);
      for (const s of e.skipped)
        console.log(`::warning title=${s.arch} skipped::${escape(s.reason)}`);
      break;
    case 'cached':
      console.log(`${e.name} ${e.version} is cached (${e.arches.join(', ')})`);
      for (const a of e.arches) rows.set(a, { result: 'cached' });
      break;
    case 'phase':
      console.log(`[${e.arch}] [${e.n}/${e.total}] ${e.name}`);
      break;
    case 'log':
      group(e.arch);
      console.log(e.line);
      break;
    case 'retry':
      console.log(`[${e.arch}] attempt ${e.attempt} failed (${e.error.message}); retrying`);
      break;
    case 'succeeded':
      console.log(
        `[${e.arch}] built in ${Math.round(e.durationMs / 1000)} s, sha256 ${e.artifact.sha256}`,
      );
      rows.set(e.arch, { result: 'built', ...e.artifact, durationMs: e.durationMs });
      break;
    case 'failed':
      console.log(
        `::error title=rnx build ${e.arch}::${escape(`${e.error.code}: ${e.error.message}`)}`,
      );
      rows.set(e.arch, { result: `failed: ${e.error.code}` });
      break;
    case 'canceled':
      rows.set(e.arch, { result: 'canceled' });
      break;
    case 'published':
      console.log(`${e.name} ${e.version} published for ${e.arches.join(', ')}`);
      break;
    case 'deployed':
      console.log(`${e.ref} deployed to ${e.nodes.installed}/${e.nodes.total} nodes`);
      break;
    case 'diagnostic':
      console.log(`::error file=${e.file},line=${e.line},col=${e.column}::${escape(e.message)}`);
      break;
    case 'done': {
      console.log(`done: ${e.state} (exit ${e.exitCode})${e.error ? `: ${e.error.message}` : ''}`);
      append(process.env.GITHUB_OUTPUT, `state=${e.state}\n`);
      const table = [...rows].map(
        ([arch, r]) =>
          `| ${arch} | ${r.result} | ${r.size ?? '-'} | ${r.sha256 ? `\`${r.sha256}\`` : '-'} |`,
      );
      append(
        process.env.GITHUB_STEP_SUMMARY,
        [
          `### rnx runtime build: ${e.state}`,
          '',
          '| arch | result | size (bytes) | sha256 |',
          '| --- | --- | --- | --- |',
          ...table,
          '',
        ].join('\n'),
      );
      break;
    }
  }
}
group('');
