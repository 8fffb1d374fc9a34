/**
 * `-o json|yaml|wide` of the list commands, as `kubectl get -o` has it: `json` is exactly what
 * `--json` prints (the two name one format), `yaml` the same data as YAML, `wide` the table with
 * more columns. Without either flag, the table scripts and Joblet's users already parse.
 */
import { Option } from 'commander';
import { stringify } from 'yaml';
import type { Io } from '../io.js';

export const OUTPUT_FORMATS = ['json', 'yaml', 'wide'] as const;
export type OutputFlag = (typeof OUTPUT_FORMATS)[number];

/** A list command's output flags, as commander hands them over. */
export interface ListOutput {
  json?: boolean;
  output?: OutputFlag;
}

/** `-o, --output <format>`; with `--json` as well it is a usage error, not a silent choice. */
export function outputOption(): Option {
  return new Option('-o, --output <format>', 'json (as --json), yaml, or wide (more columns)')
    .choices(OUTPUT_FORMATS)
    .conflicts('json');
}

/** The format a list command prints: `table` unless a flag says otherwise. */
export function outputFormat(o: ListOutput): 'table' | OutputFlag {
  return o.json ? 'json' : (o.output ?? 'table');
}

/**
 * Prints `data` when the format is `json` or `yaml` and says whether it did; the caller prints
 * its table (narrow or wide) otherwise.
 */
export function printData(io: Io, o: ListOutput, data: unknown): boolean {
  const format = outputFormat(o);
  if (format === 'json') {
    io.out(JSON.stringify(data, null, 2));
    return true;
  }
  if (format === 'yaml') {
    io.out(stringify(data).trimEnd());
    return true;
  }
  return false;
}

/** `--output wide` */
export const isWide = (o: ListOutput): boolean => outputFormat(o) === 'wide';
