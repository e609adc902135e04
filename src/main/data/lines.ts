/**
 * Line bookkeeping for streamed text: which line a byte offset falls on (so every skipped or bad
 * row is reported with its line number), and a splitter for the line-per-example formats.
 * A line break is LF, CRLF or a lone CR (old Mac files); mixed endings in one file are fine.
 */
import { StringDecoder } from 'node:string_decoder';

const CR = 0x0d;
const LF = 0x0a;

/** Line breaks in buf: every CR, and every LF not preceded by a CR (prevByte is the byte before buf). */
function countBreaks(buf: Uint8Array, prevByte: number): number {
  let breaks = 0;
  const view = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let i = view.indexOf(CR); i !== -1; i = view.indexOf(CR, i + 1)) breaks++;
  for (let i = view.indexOf(LF); i !== -1; i = view.indexOf(LF, i + 1)) {
    const before = i > 0 ? view[i - 1] : prevByte;
    if (before !== CR) breaks++;
  }
  return breaks;
}

interface IndexedChunk {
  start: number;
  data: Buffer;
  breaksAtStart: number;
  prevByte: number;
  /** Incremental scan position inside the chunk (queries are nearly always increasing). */
  cursorOffset: number;
  cursorBreaks: number;
}

/**
 * Maps byte offsets of a stream to line numbers. Keeps only the last few chunks: queries are
 * for records the parser has just finished, which end in one of them.
 */
export class LineIndex {
  private readonly chunks: IndexedChunk[] = [];
  private totalBytes = 0;
  private totalBreaks = 0;
  private lastByte = -1;

  constructor(private readonly keepChunks = 32) {}

  get bytes(): number {
    return this.totalBytes;
  }

  append(data: Buffer): void {
    if (data.length === 0) return;
    this.chunks.push({
      start: this.totalBytes,
      data,
      breaksAtStart: this.totalBreaks,
      prevByte: this.lastByte,
      cursorOffset: 0,
      cursorBreaks: 0,
    });
    this.totalBreaks += countBreaks(data, this.lastByte);
    this.totalBytes += data.length;
    this.lastByte = data[data.length - 1]!;
    if (this.chunks.length > this.keepChunks) this.chunks.shift();
  }

  private chunkAt(offset: number): IndexedChunk | null {
    for (let i = this.chunks.length - 1; i >= 0; i--) {
      const c = this.chunks[i]!;
      if (offset >= c.start && offset < c.start + c.data.length) return c;
    }
    return null;
  }

  /** Line breaks in bytes [0, offset). */
  breaksBefore(offset: number): number {
    if (offset >= this.totalBytes) return this.totalBreaks;
    const c = this.chunkAt(offset);
    if (!c) {
      // Older than what is kept (should not happen): the start of the oldest kept chunk.
      return this.chunks[0]?.breaksAtStart ?? 0;
    }
    const local = offset - c.start;
    if (local < c.cursorOffset) {
      c.cursorOffset = 0;
      c.cursorBreaks = 0;
    }
    const prev = c.cursorOffset === 0 ? c.prevByte : c.data[c.cursorOffset - 1]!;
    c.cursorBreaks += countBreaks(c.data.subarray(c.cursorOffset, local), prev);
    c.cursorOffset = local;
    return c.breaksAtStart + c.cursorBreaks;
  }

  /** The byte at an offset, when still kept. */
  byteAt(offset: number): number | undefined {
    const c = this.chunkAt(offset);
    return c ? c.data[offset - c.start] : undefined;
  }

  /** 1-based line of the byte at offset. */
  lineAt(offset: number): number {
    return this.breaksBefore(offset) + 1;
  }
}

/** Line breaks inside a string (what a quoted field adds to its record's span). */
export function lineBreaksIn(text: string): number {
  let breaks = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0d) breaks++;
    else if (c === 0x0a && (i === 0 || text.charCodeAt(i - 1) !== 0x0d)) breaks++;
  }
  return breaks;
}

/** Splits UTF-8 chunks into lines (without their breaks), numbering them from 1. */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  private lineNumber = 0;

  constructor(private readonly onLine: (line: string, lineNumber: number) => boolean | void) {}

  /** Characters of the current unfinished line (to bound memory on a file without breaks). */
  get pendingLength(): number {
    return this.pending.length;
  }

  /** The number of the line being read. */
  get currentLine(): number {
    return this.lineNumber + 1;
  }

  /** Returns false when onLine asked to stop. */
  push(chunk: Buffer): boolean {
    return this.feed(this.decoder.write(chunk), false);
  }

  end(): boolean {
    return this.feed(this.decoder.end(), true);
  }

  private feed(text: string, final: boolean): boolean {
    let data = this.pending + text;
    let start = 0;
    const re = /\r\n|\r|\n/g;
    let match: RegExpExecArray | null;
    while ((match = re.exec(data)) !== null) {
      // A CR at the very end may be the first half of a CRLF split across chunks.
      if (!final && match[0] === '\r' && match.index === data.length - 1) break;
      const line = data.slice(start, match.index);
      start = match.index + match[0].length;
      this.lineNumber++;
      if (this.onLine(line, this.lineNumber) === false) {
        this.pending = '';
        return false;
      }
    }
    data = data.slice(start);
    if (final) {
      this.pending = '';
      if (data.length > 0) {
        this.lineNumber++;
        return this.onLine(data, this.lineNumber) !== false;
      }
      return true;
    }
    this.pending = data;
    return true;
  }
}
