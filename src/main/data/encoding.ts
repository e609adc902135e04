/**
 * Text encodings: detection from the first bytes (BOMs, UTF-16 without BOM, invalid UTF-8) and a
 * streaming decoder that turns file chunks into UTF-8 Buffers for the parsers. UTF-8 input goes
 * through untouched but validated; when it turns out invalid, the read restarts as Windows-1252.
 */
import { isUtf8 } from 'node:buffer';
import { TextDecoder } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';
import type { TextEncoding } from '../../shared/dataset';
import { AppError } from '../../shared/errors';

export interface EncodingGuess {
  encoding: TextEncoding;
  /** Bytes of byte-order mark at the start of the file (skipped when reading). */
  bomLength: number;
  /** Why this encoding was chosen when it was not plain UTF-8. */
  note: string | null;
}

export const ENCODING_LABELS: Record<TextEncoding, string> = {
  'utf-8': 'UTF-8',
  'utf-16le': 'UTF-16 LE',
  'utf-16be': 'UTF-16 BE',
  'windows-1252': 'Windows-1252 (Western European)',
};

/** Refuses files that are clearly not text: workbooks, archives, compressed files. */
function refuseBinaryContainers(sample: Buffer, file: string): void {
  const name = path.basename(file);
  const startsWith = (...bytes: number[]): boolean => bytes.every((b, i) => sample[i] === b);
  if (startsWith(0x50, 0x4b, 0x03, 0x04)) {
    throw new AppError(
      'unsupported',
      `${name} is a zip archive (an Excel .xlsx workbook is one). Open it in your spreadsheet app and save it as "CSV UTF-8", then import the .csv file.`,
    );
  }
  if (startsWith(0xd0, 0xcf, 0x11, 0xe0)) {
    throw new AppError('unsupported', `${name} is an old Excel .xls workbook. Save it as "CSV UTF-8" and import the .csv file.`);
  }
  if (startsWith(0x1f, 0x8b)) {
    throw new AppError('unsupported', `${name} is gzip-compressed. Decompress it first (for example with 7-Zip or gunzip), then import the text file.`);
  }
  if (startsWith(0x25, 0x50, 0x44, 0x46)) {
    throw new AppError('unsupported', `${name} is a PDF, not a text table. Export the data as CSV and import that.`);
  }
  if (startsWith(0xff, 0xfe, 0x00, 0x00) || startsWith(0x00, 0x00, 0xfe, 0xff)) {
    throw new AppError('unsupported', `${name} is UTF-32, which is not supported. Save it as UTF-8 and import it again.`);
  }
}

/** Length of an incomplete UTF-8 sequence at the end of buf (0 when the last character is complete). */
export function incompleteUtf8Tail(buf: Uint8Array): number {
  const n = buf.length;
  for (let back = 1; back <= Math.min(4, n); back++) {
    const b = buf[n - back]!;
    if ((b & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

/** Offset of the first byte that is not valid UTF-8, or -1. */
export function firstInvalidUtf8(buf: Uint8Array): number {
  let i = 0;
  const n = buf.length;
  while (i < n) {
    const b = buf[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else return i;
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = buf[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}

function countLineBreaks(buf: Uint8Array, end: number): number {
  let lines = 0;
  for (let i = 0; i < end; i++) {
    const b = buf[i];
    if (b === 0x0a) lines++;
    else if (b === 0x0d && buf[i + 1] !== 0x0a) lines++;
  }
  return lines;
}

/**
 * Guesses the encoding from the first bytes of a file. `wholeFile` says the sample is the
 * complete file (so a cut multi-byte character at its end is a real error).
 */
export function guessEncoding(sample: Buffer, file: string, wholeFile: boolean): EncodingGuess {
  refuseBinaryContainers(sample, file);
  if (sample[0] === 0xef && sample[1] === 0xbb && sample[2] === 0xbf) return { encoding: 'utf-8', bomLength: 3, note: null };
  if (sample[0] === 0xff && sample[1] === 0xfe) return { encoding: 'utf-16le', bomLength: 2, note: null };
  if (sample[0] === 0xfe && sample[1] === 0xff) return { encoding: 'utf-16be', bomLength: 2, note: null };

  // UTF-16 without a BOM: ASCII text has a NUL in every other byte.
  const probe = sample.subarray(0, Math.min(sample.length, 4096) & ~1);
  let evenNuls = 0;
  let oddNuls = 0;
  let nuls = 0;
  for (let i = 0; i < probe.length; i++) {
    if (probe[i] === 0) {
      nuls++;
      if (i % 2 === 0) evenNuls++;
      else oddNuls++;
    }
  }
  const pairs = probe.length / 2;
  if (pairs >= 4) {
    if (oddNuls > pairs * 0.4 && evenNuls < pairs * 0.05) {
      return { encoding: 'utf-16le', bomLength: 0, note: 'The file has no byte-order mark but its bytes look like UTF-16 LE; it was read as UTF-16 LE.' };
    }
    if (evenNuls > pairs * 0.4 && oddNuls < pairs * 0.05) {
      return { encoding: 'utf-16be', bomLength: 0, note: 'The file has no byte-order mark but its bytes look like UTF-16 BE; it was read as UTF-16 BE.' };
    }
  }
  if (probe.length > 0 && nuls > probe.length * 0.1) {
    throw new AppError(
      'unsupported',
      `${path.basename(file)} does not look like a text file (${Math.round((100 * nuls) / probe.length)} % of its first bytes are NUL). Export the data as CSV (UTF-8) and import that.`,
    );
  }
  const checked = wholeFile ? sample : sample.subarray(0, sample.length - incompleteUtf8Tail(sample));
  if (isUtf8(checked)) return { encoding: 'utf-8', bomLength: 0, note: null };
  const bad = firstInvalidUtf8(checked);
  return { encoding: 'windows-1252', bomLength: 0, note: invalidUtf8Note(bad, 1 + countLineBreaks(checked, Math.max(0, bad))) };
}

export function invalidUtf8Note(byteOffset: number, line: number): string {
  return `The file is not valid UTF-8 (first invalid byte at line ${line}, byte ${byteOffset + 1}), so it was read as Windows-1252 (Western European). If accented letters look wrong, choose the right encoding and inspect again.`;
}

/** Raised by the UTF-8 decoder when the bytes turn out invalid after the sample: the caller restarts as Windows-1252. */
export class InvalidUtf8Error extends Error {
  constructor(
    readonly byteOffset: number,
    readonly line: number,
  ) {
    super(`invalid UTF-8 at byte ${byteOffset + 1} (line ${line})`);
    this.name = 'InvalidUtf8Error';
  }
}

/** Streams file chunks into UTF-8 Buffers. */
export interface ChunkDecoder {
  push(chunk: Buffer): Buffer;
  end(): Buffer;
}

/** UTF-8: the bytes pass through; they are validated so a bad byte triggers InvalidUtf8Error. */
class Utf8Validator implements ChunkDecoder {
  private carry: Buffer = Buffer.alloc(0);
  private offset = 0;
  private lines = 1;
  private lastByte = -1;

  push(chunk: Buffer): Buffer {
    const data = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    const tail = incompleteUtf8Tail(data);
    const complete = data.subarray(0, data.length - tail);
    this.check(complete);
    this.carry = Buffer.from(data.subarray(data.length - tail));
    return complete;
  }

  end(): Buffer {
    if (this.carry.length) this.check(this.carry, true);
    return Buffer.alloc(0);
  }

  private check(buf: Buffer, final = false): void {
    if (!final && isUtf8(buf)) {
      this.advance(buf);
      return;
    }
    const bad = final ? 0 : firstInvalidUtf8(buf);
    if (bad < 0) {
      this.advance(buf);
      return;
    }
    const before = buf.subarray(0, bad);
    this.advance(before);
    throw new InvalidUtf8Error(this.offset, this.lines);
  }

  private advance(buf: Buffer): void {
    // Line breaks: every CR, and every LF not preceded by a CR (CRLF counts once).
    for (let i = buf.indexOf(0x0d); i !== -1; i = buf.indexOf(0x0d, i + 1)) this.lines++;
    for (let i = buf.indexOf(0x0a); i !== -1; i = buf.indexOf(0x0a, i + 1)) {
      const before = i > 0 ? buf[i - 1] : this.lastByte;
      if (before !== 0x0d) this.lines++;
    }
    if (buf.length) this.lastByte = buf[buf.length - 1]!;
    this.offset += buf.length;
  }
}

/** Other encodings: decoded with TextDecoder (streaming) and re-encoded as UTF-8. */
class TranscodingDecoder implements ChunkDecoder {
  private readonly decoder: TextDecoder;
  constructor(encoding: TextEncoding) {
    this.decoder = new TextDecoder(encoding, { fatal: false, ignoreBOM: true });
  }
  push(chunk: Buffer): Buffer {
    return Buffer.from(this.decoder.decode(chunk, { stream: true }), 'utf8');
  }
  end(): Buffer {
    return Buffer.from(this.decoder.decode(), 'utf8');
  }
}

export function createChunkDecoder(encoding: TextEncoding): ChunkDecoder {
  return encoding === 'utf-8' ? new Utf8Validator() : new TranscodingDecoder(encoding);
}

/** Decodes a whole buffer (a sample, its BOM already cut off) without throwing. */
export function decodeSample(bytes: Uint8Array, encoding: TextEncoding): string {
  return new TextDecoder(encoding, { fatal: false, ignoreBOM: true }).decode(bytes);
}

/** Length of the byte-order mark of this encoding at the start of the file, or 0. */
export function bomLengthFor(encoding: TextEncoding, head: Uint8Array): number {
  if (encoding === 'utf-8') return head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  if (encoding === 'utf-16le') return head[0] === 0xff && head[1] === 0xfe ? 2 : 0;
  if (encoding === 'utf-16be') return head[0] === 0xfe && head[1] === 0xff ? 2 : 0;
  return 0;
}

/** Streams the whole file through the UTF-8 validator: where the first invalid byte is, or null. */
export async function firstInvalidUtf8InFile(file: string, signal?: AbortSignal): Promise<{ byteOffset: number; line: number } | null> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const validator = new Utf8Validator();
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      if (signal?.aborted) throw new AppError('cancelled', `Reading ${path.basename(file)} was cancelled.`);
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      validator.push(Buffer.from(buf.subarray(0, bytesRead)));
    }
    validator.end();
    return null;
  } catch (err) {
    if (err instanceof InvalidUtf8Error) return { byteOffset: err.byteOffset, line: err.line };
    throw err;
  } finally {
    await fh.close();
  }
}
