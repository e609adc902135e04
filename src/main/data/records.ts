/**
 * Streams the records of a file in bounded memory: raw chunks are read, decoded to UTF-8, and
 * parsed (./csv.ts for delimited files, a line splitter for label-first and JSON lines). Each
 * record carries the line where it starts; rows that cannot be used are reported, never dropped
 * silently. Reading reports progress in bytes and stops when the AbortSignal fires.
 */
import { plural } from '../../shared/format';
import fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { SkippedRow } from '../../shared/dataset';
import { AppError } from '../../shared/errors';
import { createChunkDecoder, ENCODING_LABELS, InvalidUtf8Error, invalidUtf8Note } from './encoding';
import { effectiveLength, type ResolvedFormat } from './format';
import { CsvRecordParser, RecordTooLongError, rejoinBrokenQuote, type CsvRecord } from './csv';
import { LineSplitter } from './lines';
import { ProgressReporter, throwIfCancelled, type LongTaskOptions } from './progress';

const CHUNK_BYTES = 1 << 20;
/** One record may not exceed this (an unclosed quote would otherwise swallow the whole file). */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;
const KEPT_SKIP_ROWS = 100;
const KEPT_NUL_LINES = 20;

export interface DataRecord {
  /** 1-based line where the record starts. */
  line: number;
  /** One value per column (columnNames order); NUL characters removed. */
  fields: string[];
}

export interface RecordSink {
  /** Return false to stop reading (previews). */
  record(rec: DataRecord): boolean | void;
}

export interface ReadSummary {
  bytesRead: number;
  records: number;
  skipped: { count: number; rows: SkippedRow[] };
  /** Lines where NUL characters were removed. */
  nulLines: { count: number; lines: number[] };
  /** Lines where a quote opened and was never closed properly: read with the quote as text. */
  brokenQuotes: { count: number; lines: number[] };
  /** The format actually used (the encoding may have fallen back to Windows-1252). */
  format: ResolvedFormat;
  stoppedEarly: boolean;
}

export interface ReadOptions extends LongTaskOptions {
  /** Progress phase name, e.g. "reading". */
  phase?: string;
  /** Sees every raw byte of the file, BOM included (to hash the source). */
  onRawBytes?: (chunk: Buffer) => void;
}

class ReadState {
  records = 0;
  skippedCount = 0;
  skippedRows: SkippedRow[] = [];
  nulCount = 0;
  nulLines: number[] = [];
  stopped = false;
  failure: unknown = null;
  brokenQuoteCount = 0;
  brokenQuoteLines: number[] = [];

  brokenQuote(line: number): void {
    this.brokenQuoteCount++;
    if (this.brokenQuoteLines.length < KEPT_NUL_LINES) this.brokenQuoteLines.push(line);
  }

  skip(line: number, reason: string): void {
    this.skippedCount++;
    if (this.skippedRows.length < KEPT_SKIP_ROWS) this.skippedRows.push({ line, reason });
  }

  cleanFields(fields: string[], line: number): string[] {
    let hadNul = false;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i]!;
      if (f.includes('\u0000')) {
        fields[i] = f.replaceAll('\u0000', '');
        hadNul = true;
      }
    }
    if (hadNul) {
      this.nulCount++;
      if (this.nulLines.length < KEPT_NUL_LINES) this.nulLines.push(line);
    }
    return fields;
  }
}

interface RecordEngine {
  push(utf8: Buffer): Promise<void>;
  end(): Promise<void>;
  close(): void;
}


/** Fits a record to the column count, or says why it cannot be used. */
function fitRecord(fields: string[], columnCount: number): string[] | string {
  if (fields.length === columnCount) return fields;
  const n = effectiveLength(fields);
  if (n <= columnCount && columnCount <= fields.length) return fields.slice(0, columnCount);
  const count = fields.length < columnCount ? fields.length : n;
  return `${plural(count, 'field')} where ${columnCount} ${columnCount === 1 ? 'was' : 'were'} expected`;
}

class DelimitedEngine implements RecordEngine {
  private readonly parser: CsvRecordParser;
  private readonly decoder = new StringDecoder('utf8');
  private headerPending: boolean;

  constructor(
    private readonly format: ResolvedFormat,
    private readonly state: ReadState,
    private readonly sink: RecordSink,
  ) {
    const { delimiter, quoted, hasHeader } = format.settings;
    this.headerPending = hasHeader;
    this.parser = new CsvRecordParser({ delimiter: delimiter ?? ',', quoted, maxRecordChars: MAX_RECORD_BYTES, firstLine: format.sepLine ? 2 : 1 }, (record) => this.onRecord(record));
  }

  private onRecord(record: CsvRecord): boolean {
    const { line } = record;
    const fields =
      record.brokenQuoteLine !== null
        ? rejoinBrokenQuote(record, this.format.columnNames.length, this.format.settings.delimiter ?? ',')
        : record.fields;
    if (fields.every((f) => f.trim() === '')) return true; // a blank line, or only delimiters and spaces
    if (this.headerPending) {
      this.headerPending = false;
      return true;
    }
    if (record.brokenQuoteLine !== null) this.state.brokenQuote(record.brokenQuoteLine);
    const fitted = fitRecord(fields, this.format.columnNames.length);
    if (typeof fitted === 'string') {
      this.state.skip(
        line,
        record.brokenQuoteLine !== null ? `a quote opened here is never closed; read with the quote as text, the line has ${fitted}. Close the quote (and double the quotes inside it).` : fitted,
      );
      return true;
    }
    this.state.records++;
    if (this.sink.record({ line, fields: this.state.cleanFields(fitted, line) }) === false) {
      this.state.stopped = true;
      return false;
    }
    return true;
  }

  private feed(text: string, final: boolean): void {
    try {
      if (text) this.parser.push(text);
      if (final) this.parser.end();
    } catch (err) {
      if (err instanceof RecordTooLongError) {
        throw new AppError(
          'invalid_input',
          `${this.format.displayName}: the record starting at line ${err.line} is longer than ${MAX_RECORD_BYTES / 1024 / 1024} MB; is this really a text file with one example per line?`,
        );
      }
      throw err;
    }
  }

  async push(utf8: Buffer): Promise<void> {
    if (utf8.length === 0) return;
    this.feed(this.decoder.write(utf8), false);
  }

  async end(): Promise<void> {
    this.feed(this.decoder.end(), true);
  }

  close(): void {}
}

/** `LABEL text` lines and JSON lines. */
class LineEngine implements RecordEngine {
  private readonly splitter: LineSplitter;

  constructor(
    private readonly format: ResolvedFormat,
    private readonly state: ReadState,
    private readonly sink: RecordSink,
  ) {
    const columns = format.columnNames;
    const jsonl = format.settings.format === 'jsonl';
    this.splitter = new LineSplitter((text, line) => {
      if (text.trim() === '') return true;
      let fields: string[] | string;
      if (jsonl) fields = jsonFields(text, columns);
      else {
        const m = /^[ \t]*(\S+)[ \t]+(\S.*?)[ \t]*$/s.exec(text);
        fields = m ? [m[1]!, m[2]!] : 'the line has a label but no text after it (expected `LABEL text`)';
      }
      if (typeof fields === 'string') {
        this.state.skip(line, fields);
        return true;
      }
      this.state.records++;
      if (this.sink.record({ line, fields: this.state.cleanFields(fields, line) }) === false) {
        this.state.stopped = true;
        return false;
      }
      return true;
    });
  }

  async push(utf8: Buffer): Promise<void> {
    if (!this.splitter.push(utf8)) return;
    if (this.splitter.pendingLength > MAX_RECORD_BYTES) {
      throw new AppError(
        'invalid_input',
        `${this.format.displayName}: line ${this.splitter.currentLine} is longer than ${MAX_RECORD_BYTES / 1024 / 1024} MB; is this really a text file with one example per line?`,
      );
    }
  }

  async end(): Promise<void> {
    this.splitter.end();
  }

  close(): void {}
}

function jsonFields(text: string, columns: readonly string[]): string[] | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return `not valid JSON (${(err as Error).message})`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object (expected {"text": ..., "label": ...})';
  const obj = value as Record<string, unknown>;
  return columns.map((key) => {
    // Keys are the user's: "constructor" or "toString" must not find Object.prototype's members.
    const v = Object.hasOwn(obj, key) ? obj[key] : undefined;
    if (v === undefined || v === null) return '';
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    return JSON.stringify(v);
  });
}

/** Reads every record once (restarting as Windows-1252 if UTF-8 turns out invalid: see readRecordsWithFallback). */
async function readRecordsOnce(format: ResolvedFormat, sink: RecordSink, options: ReadOptions): Promise<ReadSummary> {
  const state = new ReadState();
  const progress = new ProgressReporter(options.phase ?? 'reading', format.sizeBytes, 'bytes', options.onProgress);
  const engine: RecordEngine =
    format.settings.format === 'delimited' ? new DelimitedEngine(format, state, sink) : new LineEngine(format, state, sink);
  const decoder = createChunkDecoder(format.settings.encoding);
  const name = format.displayName;
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(format.file, 'r');
  } catch (err) {
    throw new AppError('io', `${name} cannot be opened: ${(err as Error).message}`);
  }
  let position = 0;
  try {
    progress.update(position, true);
    for (;;) {
      throwIfCancelled(options.signal, `Reading ${name}`);
      const buf = Buffer.allocUnsafe(CHUNK_BYTES);
      const { bytesRead } = await fh.read(buf, 0, CHUNK_BYTES, position);
      if (bytesRead === 0) break;
      const raw = buf.subarray(0, bytesRead);
      options.onRawBytes?.(raw);
      const skip = position < format.dataOffset ? Math.min(bytesRead, format.dataOffset - position) : 0;
      position += bytesRead;
      await engine.push(decoder.push(raw.subarray(skip)));
      if (state.failure) throw state.failure;
      if (state.stopped) break;
      progress.update(position);
    }
    if (state.stopped) engine.close();
    else {
      await engine.push(decoder.end());
      await engine.end();
    }
    if (state.failure) throw state.failure;
    progress.finish(position);
  } catch (err) {
    engine.close();
    throw err;
  } finally {
    await fh.close();
  }
  return {
    bytesRead: position,
    records: state.records,
    skipped: { count: state.skippedCount, rows: state.skippedRows },
    nulLines: { count: state.nulCount, lines: state.nulLines },
    brokenQuotes: { count: state.brokenQuoteCount, lines: state.brokenQuoteLines },
    format,
    stoppedEarly: state.stopped,
  };
}

/**
 * Reads every record of the file. `reset` is called before a restart (the file was not UTF-8
 * after all and is read again as Windows-1252), so a sink can drop what it collected.
 */
export async function readRecords(
  format: ResolvedFormat,
  sink: RecordSink & { reset?(): void },
  options: ReadOptions = {},
): Promise<ReadSummary> {
  try {
    return await readRecordsOnce(format, sink, options);
  } catch (err) {
    if (!(err instanceof InvalidUtf8Error)) throw err;
    if (!format.encodingDetected) {
      throw new AppError(
        'invalid_input',
        `${format.displayName}: line ${err.line} is not valid ${ENCODING_LABELS[format.settings.encoding]}. Choose another encoding (Windows-1252 for most Western European files) or save the file as UTF-8.`,
      );
    }
    sink.reset?.();
    const fallback: ResolvedFormat = {
      ...format,
      settings: { ...format.settings, encoding: 'windows-1252' },
      encodingNote: invalidUtf8Note(err.byteOffset + format.bomLength, err.line),
    };
    return readRecordsOnce(fallback, sink, options);
  }
}
