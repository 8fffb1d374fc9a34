/** Where a command writes. Commands take an `Io` so tests can capture output without a process. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
  /** Colour and symbols are decided once, from the terminal and NO_COLOR. */
  color: boolean;
}

export function processIo(): Io {
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
  };
}

const CODES = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;
export type Color = keyof typeof CODES;

export function paint(io: Io, color: Color, text: string): string {
  return io.color ? `\u001b[${CODES[color]}m${text}\u001b[0m` : text;
}
