// Bounded capture of a child's output: keeps only the tail (the end of a failing build's log is
// what explains it) and optionally splits the stream into lines for live streaming.
import { StringDecoder } from 'node:string_decoder';

/**
 * Keeps the last `capBytes` bytes written to it. Memory stays bounded whatever the child prints.
 */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  /** Bytes dropped from the front because of the cap. */
  dropped = 0;

  constructor(private readonly capBytes: number) {}

  push(chunk: Buffer): void {
    if (this.capBytes <= 0) {
      this.dropped += chunk.length;
      return;
    }
    this.chunks.push(chunk);
    this.size += chunk.length;
    // Drop whole chunks while what remains still covers the cap; the final trim happens on read.
    for (;;) {
      const first = this.chunks[0];
      if (first === undefined || this.size - first.length < this.capBytes) break;
      this.chunks.shift();
      this.size -= first.length;
      this.dropped += first.length;
    }
  }

  /** The kept tail as UTF-8 (a multi-byte character cut at the front becomes U+FFFD). */
  toString(): string {
    let all = Buffer.concat(this.chunks, this.size);
    if (all.length > this.capBytes) {
      this.dropped += all.length - this.capBytes;
      all = all.subarray(all.length - this.capBytes);
      this.chunks = [all];
      this.size = all.length;
    }
    return all.toString('utf8');
  }

  get truncated(): boolean {
    return this.dropped > 0 || this.size > this.capBytes;
  }
}

/**
 * Splits a byte stream into lines (without the trailing `\n`, `\r\n` tolerated) and hands each
 * to `onLine` as soon as it is complete. A final unterminated line is delivered by `flush()`.
 * Very long lines are cut at `maxLineBytes` so one runaway line cannot exhaust memory.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLineChars = 64 * 1024,
  ) {}

  push(chunk: Buffer): void {
    this.emit(this.decoder.write(chunk));
  }

  flush(): void {
    this.emit(this.decoder.end());
    if (this.partial.length > 0) {
      const line = this.partial;
      this.partial = '';
      this.deliver(line);
    }
  }

  private emit(text: string): void {
    if (text.length === 0) return;
    let data = this.partial + text;
    let nl = data.indexOf('\n');
    while (nl !== -1) {
      this.deliver(data.slice(0, nl));
      data = data.slice(nl + 1);
      nl = data.indexOf('\n');
    }
    // A line longer than the cap is delivered in pieces rather than buffered without bound.
    while (data.length > this.maxLineChars) {
      this.deliver(data.slice(0, this.maxLineChars));
      data = data.slice(this.maxLineChars);
    }
    this.partial = data;
  }

  private deliver(line: string): void {
    this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  }
}

/** The last `maxLines` non-empty lines of `text`, at most `maxChars` characters: for messages. */
export function tailLines(text: string, maxLines = 10, maxChars = 2000): string {
  const lines = text.split('\n').filter((l) => l.trim().length > 0);
  const tail = lines.slice(-maxLines).join('\n');
  return tail.length > maxChars ? tail.slice(tail.length - maxChars) : tail;
}
