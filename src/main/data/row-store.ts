/**
 * Temporary storage for rows while a dataset is prepared: texts go to a file (one JSON string
 * per line), labels, text hashes and source lines to typed arrays, so memory stays at a few
 * bytes per row whatever the texts weigh.
 */
import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';

const FLUSH_BYTES = 1 << 20;

/** Appends text to a file through a 1 MiB buffer, optionally hashing what it writes. */
export class BufferedFileWriter {
  private readonly fd: number;
  private parts: string[] = [];
  private pendingLength = 0;
  private hash: Hash | null;
  private closed = false;
  bytesWritten = 0;

  constructor(
    readonly file: string,
    private readonly hashed = false,
  ) {
    this.fd = fs.openSync(file, 'w');
    this.hash = hashed ? createHash('sha256') : null;
  }

  write(text: string): void {
    this.parts.push(text);
    this.pendingLength += text.length;
    if (this.pendingLength >= FLUSH_BYTES) this.flush();
  }

  flush(): void {
    if (this.parts.length === 0) return;
    const buf = Buffer.from(this.parts.join(''), 'utf8');
    this.parts = [];
    this.pendingLength = 0;
    let off = 0;
    while (off < buf.length) off += fs.writeSync(this.fd, buf, off, buf.length - off);
    this.hash?.update(buf);
    this.bytesWritten += buf.length;
  }

  /** Empties the file (a read restarted with another encoding). */
  truncate(): void {
    this.parts = [];
    this.pendingLength = 0;
    fs.ftruncateSync(this.fd, 0);
    this.bytesWritten = 0;
    if (this.hashed) this.hash = createHash('sha256');
  }

  /** Flushes, fsyncs (unless told it is a scratch file) and closes; returns the sha256 (hex) when hashed. */
  close(durable = true): string | null {
    if (this.closed) throw new Error(`${this.file} is already closed`);
    this.flush();
    if (durable) fs.fsyncSync(this.fd);
    this.closed = true;
    fs.closeSync(this.fd);
    return this.hash ? this.hash.digest('hex') : null;
  }

  /** Closes without caring about the content (failure paths). */
  abandon(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
  }
}

export class GrowableInt32 {
  private data = new Int32Array(1024);
  length = 0;
  push(value: number): void {
    if (this.length === this.data.length) {
      const next = new Int32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = value;
  }
  /** The values as little-endian int32 bytes. */
  toBytesLE(): Buffer {
    const out = Buffer.allocUnsafe(this.length * 4);
    for (let i = 0; i < this.length; i++) out.writeInt32LE(this.data[i]!, i * 4);
    return out;
  }
  get(i: number): number {
    return this.data[i]!;
  }
  set(i: number, value: number): void {
    this.data[i] = value;
  }
  clear(): void {
    this.length = 0;
  }
}

export class GrowableFloat64 {
  private data = new Float64Array(1024);
  length = 0;
  push(value: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = value;
  }
  get(i: number): number {
    return this.data[i]!;
  }
  clear(): void {
    this.length = 0;
  }
}

/** Rows of one side (the training file or the evaluation file) while preparing. */
export class RowStore {
  readonly texts: BufferedFileWriter;
  readonly labels = new GrowableInt32();
  readonly hashes = new GrowableFloat64();
  readonly lines = new GrowableInt32();

  constructor(readonly textsFile: string) {
    this.texts = new BufferedFileWriter(textsFile);
  }

  get count(): number {
    return this.labels.length;
  }

  add(text: string, provisionalLabel: number, textHash: number, line: number): void {
    this.texts.write(`${JSON.stringify(text)}\n`);
    this.labels.push(provisionalLabel);
    this.hashes.push(textHash);
    this.lines.push(line);
  }

  reset(): void {
    this.texts.truncate();
    this.labels.clear();
    this.hashes.clear();
    this.lines.clear();
  }
}

/** Calls onLine for every line of a UTF-8 file, reading it in 1 MiB chunks. */
export async function forEachLine(
  file: string,
  onLine: (line: string, index: number) => void,
  signal?: AbortSignal,
  onBytes?: (chunk: Buffer) => void,
): Promise<void> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(FLUSH_BYTES);
    let carry = '';
    let index = 0;
    const decoder = new TextDecoder('utf-8');
    for (;;) {
      if (signal?.aborted) return;
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      onBytes?.(buf.subarray(0, bytesRead));
      const text = carry + decoder.decode(buf.subarray(0, bytesRead), { stream: true });
      let start = 0;
      for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
        onLine(text.slice(start, nl), index++);
        start = nl + 1;
      }
      carry = text.slice(start);
    }
    carry += decoder.decode();
    if (carry.length > 0) onLine(carry, index);
  } finally {
    await fh.close();
  }
}
