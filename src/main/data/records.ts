/**
 * Streams the records of a file in bounded memory: raw chunks are read, decoded to UTF-8, and
 * parsed (csv-parse for delimited files, a line splitter for label-first and JSON lines). Each
 * record carries the line where it starts; rows that cannot be used are reported, never dropped
 * silently. Reading reports progress in bytes and stops when the AbortSignal fires.
 */
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { Parser, type CsvError, type Info } from 'csv-parse';
import type { SkippedRow } from '../../shared/dataset';
import { AppError } from '../../shared/errors';
import { createChunkDecoder, ENCODING_LABELS, InvalidUtf8Error, invalidUtf8Note } from './encoding';
import { effectiveLength, type ResolvedFormat } from './format';
import { LineIndex, LineSplitter, lineBreaksIn } from './lines';
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

function plural(n: number, word: string): string {
  return `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;
}

/** Fits a record to the column count, or says why it cannot be used. */
function fitRecord(fields: string[], columnCount: number): string[] | string {
  if (fields.length === columnCount) return fields;
  const n = effectiveLength(fields);
  if (n <= columnCount && columnCount <= fields.length) return fields.slice(0, columnCount);
  const count = fields.length < columnCount ? fields.length : n;
  return `${plural(count, 'field')} where ${columnCount} ${columnCount === 1 ? 'was' : 'were'} expected`;
}

function describeCsvError(err: CsvError, lastLine: number): string {
  switch (err.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return `a quote opened here is never closed, so everything from here to the end of the file (line ${lastLine}) could not be read. Close the quote, or read the file with quoting turned off.`;
    case 'CSV_INVALID_CLOSING_QUOTE':
      return 'a quoted field is followed by more text before the delimiter. Quote the whole field and double the quotes inside it (""), or read the file with quoting turned off.';
    case 'INVALID_OPENING_QUOTE':
      return 'a quote appears in the middle of an unquoted field. Quote the whole field and double the quotes inside it (""), or read the file with quoting turned off.';
    default:
      return err.message;
  }
}

/**
 * With relax_quotes, a quote that closes a field early ("abc"def) is kept as text and the field
 * value then starts with the quote. If that field also spans lines, a quote was left open and the
 * parser ran on into the next line(s): the record is garbage and must be reported, not kept.
 */
function isRunawayQuote(field: string): boolean {
  return field.charCodeAt(0) === 0x22 && (field.includes('\n') || field.includes('\r'));
}

class DelimitedEngine implements RecordEngine {
  private readonly parser: Parser;
  private readonly lines = new LineIndex();
  private headerPending: boolean;
  private lastRecordEnd = 0;
  private readonly pendingSkips: CsvError[] = [];

  constructor(
    private readonly format: ResolvedFormat,
    private readonly state: ReadState,
    private readonly sink: RecordSink,
  ) {
    const { delimiter, quoted, hasHeader } = format.settings;
    this.headerPending = hasHeader;
    this.parser = new Parser({
      delimiter: delimiter ?? ',',
      quote: quoted ? '"' : false,
      escape: '"',
      // Lenient like Python's csv module: a stray quote inside a field is kept as text. Format
      // detection judges quoting strictly, so a file that does not quote properly is read unquoted.
      relax_quotes: true,
      relax_column_count: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      record_delimiter: ['\r\n', '\n', '\r'],
      info: true,
      bom: false,
    });
    this.parser.on('data', (data: { record: string[]; info: Info }) => this.onRecord(data.record, data.info));
    this.parser.on('skip', (err: CsvError) => this.pendingSkips.push(err));
    this.parser.on('error', (err: Error) => {
      this.state.failure ??= err;
    });
  }

  private flushSkips(final: boolean): void {
    while (this.pendingSkips.length) {
      const err = this.pendingSkips.shift()!;
      const offset = typeof err.bytes === 'number' ? err.bytes : this.lastRecordEnd;
      const line = this.lines.lineAt(Math.max(offset, this.lastRecordEnd));
      this.state.skip(line, describeCsvError(err, final ? this.lastLine() : line));
    }
  }

  /** Number of the last line of the input (a final line break ends it, it does not start another). */
  private lastLine(): number {
    const last = this.lines.byteAt(this.lines.bytes - 1);
    return this.lines.lineAt(this.lines.bytes) - (last === 0x0a || last === 0x0d ? 1 : 0);
  }

  private onRecord(record: string[], info: Info): void {
    if (this.state.stopped || this.state.failure) return;
    try {
      this.flushSkips(false);
      const end = info.bytes;
      const last = this.lines.byteAt(end - 1);
      const endsWithBreak = last === 0x0a || last === 0x0d;
      const endLine = this.lines.breaksBefore(end) + (endsWithBreak ? 0 : 1);
      let spanned = 0;
      for (const f of record) if (f.length > 0 && (f.includes('\n') || f.includes('\r'))) spanned += lineBreaksIn(f);
      const line = endLine - spanned;
      this.lastRecordEnd = end;
      if (record.every((f) => f.trim() === '')) return; // a line of only delimiters or spaces
      if (this.headerPending) {
        this.headerPending = false;
        return;
      }
      if (this.format.settings.quoted && record.some(isRunawayQuote)) {
        this.state.skip(
          line,
          `a quote opened here is not closed properly (the field runs on to line ${endLine}), so line${endLine > line ? `s ${line}-${endLine}` : ` ${line}`} could not be read. Close the quote (and double the quotes inside it), or read the file with quoting turned off.`,
        );
        return;
      }
      const fitted = fitRecord(record, this.format.columnNames.length);
      if (typeof fitted === 'string') {
        this.state.skip(line, fitted);
        return;
      }
      this.state.records++;
      if (this.sink.record({ line, fields: this.state.cleanFields(fitted, line) }) === false) this.state.stopped = true;
    } catch (err) {
      this.state.failure ??= err;
    }
  }

  async push(utf8: Buffer): Promise<void> {
    if (utf8.length === 0) return;
    this.lines.append(utf8);
    if (!this.parser.write(utf8)) await once(this.parser, 'drain');
    if (this.lines.bytes - this.lastRecordEnd > MAX_RECORD_BYTES) {
      const line = this.lines.lineAt(this.lastRecordEnd);
      throw new AppError(
        'invalid_input',
        `${path.basename(this.format.file)}: the record starting at line ${line} is longer than ${MAX_RECORD_BYTES / 1024 / 1024} MB. A quote there is probably never closed; fix it, or read the file with quoting turned off.`,
      );
    }
  }

  async end(): Promise<void> {
    this.parser.end();
    await finished(this.parser);
    this.flushSkips(true);
  }

  close(): void {
    this.parser.destroy();
  }
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
        `${path.basename(this.format.file)}: line ${this.splitter.currentLine} is longer than ${MAX_RECORD_BYTES / 1024 / 1024} MB; is this really a text file with one example per line?`,
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
  const name = path.basename(format.file);
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
      const skip = position < format.bomLength ? Math.min(bytesRead, format.bomLength - position) : 0;
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
        `${path.basename(format.file)}: line ${err.line} is not valid ${ENCODING_LABELS[format.settings.encoding]}. Choose another encoding (Windows-1252 for most Western European files) or save the file as UTF-8.`,
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
