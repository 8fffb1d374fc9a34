/** Where a command writes. Commands take an `Io` so tests can capture output without a process. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
  /** Colour and symbols are decided once, from the terminal and NO_COLOR. */
  color: boolean;
  /**
   * stdout is a terminal: a person reads it, so summaries such as `Total runtimes: N` are shown.
   * Scripts (pipes, files) get only the rows they parse.
   */
  tty?: boolean;
}

/**
 * The reader of a pipe went away (`rnx … | head -1`, `| grep -q`): it has what it wanted, so
 * `rnx` ends at once, quietly and with exit code 0 — not with an EPIPE stack trace, and not with
 * a failure that `set -o pipefail` would turn into a failed script.
 */
function endQuietlyOnEpipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

let guarded = false;

export function processIo(): Io {
  if (!guarded) {
    guarded = true;
    endQuietlyOnEpipe(process.stdout);
    endQuietlyOnEpipe(process.stderr);
  }
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
    tty: Boolean(process.stdout.isTTY),
  };
}

const CODES = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;
export type Color = keyof typeof CODES;

export function paint(io: Io, color: Color, text: string): string {
  return io.color ? `\u001b[${CODES[color]}m${text}\u001b[0m` : text;
}
