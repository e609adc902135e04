/**
 * A streaming CSV record parser with one rule csv-parse does not have: a quote that is never
 * closed properly does not swallow the rest of the file and does not switch the whole file to
 * "no quoting". When a quoted field meets a quote followed by text (`"abc"def`), the end of the
 * input, or the record size limit, the field is read again from its opening quote as plain text
 * (the quote kept as a character), and parsing goes on normally after that line. A field that
 * had spanned lines this way is reported (`brokenQuoteLine`): its line keeps its text, the lines
 * after it are read as the records they are.
 *
 * Everything else is RFC 4180: `""` inside a quoted field is one quote, quoted fields may hold
 * delimiters and line breaks, a line break is LF, CRLF or a lone CR. Each record carries the
 * 1-based line where it starts, counting the lines inside quoted fields.
 */

const CR = 0x0d;
const LF = 0x0a;
const QUOTE = 0x22;
/** Consumed text is dropped from the buffer once it grows past this (characters). */
const TRIM_AT = 1 << 20;

export interface CsvRecord {
  /** 1-based line where the record starts. */
  line: number;
  /** 1-based line where it ends (after quoted line breaks). */
  endLine: number;
  fields: string[];
  /** Set when a quote opened on this line was never closed properly: the line was read with the quote as text. */
  brokenQuoteLine: number | null;
  /** The field where that quote opened. */
  brokenQuoteField: number | null;
}

export interface CsvParserOptions {
  delimiter: string;
  /** False reads every quote as a plain character. */
  quoted: boolean;
  /** A quoted field longer than this is treated as a quote never closed; an unquoted record longer than this fails. */
  maxRecordChars: number;
  /** The file line the text starts at (2 when a `sep=` line was skipped before it). */
  firstLine?: number;
}

export class RecordTooLongError extends Error {
  constructor(readonly line: number) {
    super(`the record starting at line ${line} is too long`);
  }
}

type Mode = 'start' | 'unquoted' | 'quoted';

export class CsvRecordParser {
  private buf = '';
  private pos = 0;
  private recStart = 0;
  private recLine = 1;
  private line = 1;
  private fields: string[] = [];
  private mode: Mode = 'start';
  private fieldStart = 0;
  private quoteOpen = -1;
  private quoteLine = 1;
  /** An opening quote to read as a character (after a failed quoted reading). */
  private literalQuoteAt = -1;
  private broken: number | null = null;
  private brokenField: number | null = null;
  private stopped = false;
  private readonly delim: number;
  /** Quoted fields that closed cleanly; of them, those holding a delimiter or a line break. */
  cleanQuotedFields = 0;
  meaningfulQuotedFields = 0;
  /** Quoted fields read again as text (a quote followed by text, or never closed). */
  literalQuotes = 0;

  constructor(
    private readonly options: CsvParserOptions,
    private readonly onRecord: (record: CsvRecord) => boolean | void,
  ) {
    if (options.delimiter.length !== 1) throw new Error('the delimiter is one character');
    this.delim = options.delimiter.charCodeAt(0);
    this.line = this.recLine = this.quoteLine = options.firstLine ?? 1;
  }

  /** Characters of the record being read. */
  get pendingChars(): number {
    return this.buf.length - this.recStart;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  push(text: string): void {
    if (this.stopped || text.length === 0) return;
    this.buf += text;
    this.run(false);
  }

  end(): void {
    if (this.stopped) return;
    this.run(true);
  }

  private breaksIn(from: number, to: number): number {
    let n = 0;
    const b = this.buf;
    for (let i = from; i < to; i++) {
      const c = b.charCodeAt(i);
      if (c === CR) n++;
      else if (c === LF && (i === 0 || b.charCodeAt(i - 1) !== CR)) n++;
    }
    return n;
  }

  private emit(): void {
    const fields = this.fields;
    this.fields = [];
    const record: CsvRecord = { line: this.recLine, endLine: this.line, fields, brokenQuoteLine: this.broken, brokenQuoteField: this.brokenField };
    this.broken = null;
    this.brokenField = null;
    this.literalQuoteAt = -1;
    this.mode = 'start';
    this.recStart = this.pos;
    if (this.onRecord(record) === false) this.stopped = true;
  }

  /** After a record's line break: the next record starts on the next line. */
  private endLine(breakLength: number): void {
    this.pos += breakLength;
    this.line++;
    this.emit();
    this.recLine = this.line;
  }

  private trim(): void {
    if (this.recStart < TRIM_AT) return;
    this.buf = this.buf.slice(this.recStart);
    this.pos -= this.recStart;
    this.recStart = 0;
  }

  /** The quoted field could not be read as quoted: read it again from its quote as plain text. */
  private readQuoteAsText(spansLines: boolean): void {
    this.literalQuotes++;
    if (spansLines && this.broken === null) {
      this.broken = this.quoteLine;
      this.brokenField = this.fields.length;
    }
    this.literalQuoteAt = this.quoteOpen;
    this.pos = this.quoteOpen;
    this.line = this.quoteLine;
    this.mode = 'unquoted';
    this.fieldStart = this.quoteOpen;
  }

  private run(final: boolean): void {
    const { quoted, maxRecordChars } = this.options;
    const delim = this.delim;
    while (!this.stopped) {
      const b = this.buf;
      const len = b.length;
      if (this.mode === 'start') {
        if (this.pos >= len) {
          if (final && this.fields.length > 0) {
            this.fields.push('');
            this.emit();
          }
          break;
        }
        if (quoted && b.charCodeAt(this.pos) === QUOTE && this.pos !== this.literalQuoteAt) {
          this.mode = 'quoted';
          this.quoteOpen = this.pos;
          this.quoteLine = this.line;
          this.pos++;
        } else {
          this.mode = 'unquoted';
          this.fieldStart = this.pos;
        }
        continue;
      }
      if (this.mode === 'unquoted') {
        let i = this.pos;
        let c = 0;
        while (i < len) {
          c = b.charCodeAt(i);
          if (c === delim || c === CR || c === LF) break;
          i++;
        }
        if (i >= len) {
          this.pos = len;
          if (len - this.recStart > maxRecordChars) throw new RecordTooLongError(this.recLine);
          if (final) {
            if (this.fields.length > 0 || len > this.fieldStart) {
              this.fields.push(b.slice(this.fieldStart, len));
              this.emit();
            }
          }
          break;
        }
        if (c === delim) {
          this.fields.push(b.slice(this.fieldStart, i));
          this.pos = i + 1;
          this.mode = 'start';
          continue;
        }
        if (c === CR && i + 1 >= len && !final) {
          this.pos = i; // a CRLF may be split between chunks
          break;
        }
        this.fields.push(b.slice(this.fieldStart, i));
        this.pos = i;
        this.endLine(c === CR && b.charCodeAt(i + 1) === LF ? 2 : 1);
        this.trim();
        continue;
      }
      // quoted
      const q = b.indexOf('"', this.pos);
      if (q === -1 || (q + 1 >= len && !final)) {
        const upTo = q === -1 ? len : q;
        this.line += this.breaksIn(this.pos, upTo);
        this.pos = upTo;
        if (final && q === -1) this.readQuoteAsText(true);
        else if (len - this.quoteOpen > maxRecordChars) this.readQuoteAsText(true);
        else break;
        continue;
      }
      this.line += this.breaksIn(this.pos, q);
      const next = q + 1 < len ? b.charCodeAt(q + 1) : -1;
      if (next === QUOTE) {
        this.pos = q + 2;
        continue;
      }
      if (next === CR && q + 2 >= len && !final) {
        this.pos = q; // a CRLF may be split between chunks: decide once the next chunk is here
        break;
      }
      if (next === -1 || next === delim || next === CR || next === LF) {
        const value = b.slice(this.quoteOpen + 1, q).replaceAll('""', '"');
        this.cleanQuotedFields++;
        if (value.includes(this.options.delimiter) || this.line !== this.quoteLine) this.meaningfulQuotedFields++;
        this.fields.push(value);
        this.pos = q + 1;
        if (next === delim) {
          this.pos++;
          this.mode = 'start';
        } else if (next === -1) {
          this.emit();
        } else {
          this.endLine(next === CR && b.charCodeAt(q + 2) === LF ? 2 : 1);
          this.trim();
        }
        continue;
      }
      // A quote followed by text: this field was not quoted properly.
      this.readQuoteAsText(this.line !== this.quoteLine);
    }
  }
}

/** Parses a whole text (a detection sample); stops after maxRecords. */
export function parseCsvText(
  text: string,
  options: Omit<CsvParserOptions, 'maxRecordChars'> & { maxRecords: number },
): { records: CsvRecord[]; parser: CsvRecordParser } {
  const records: CsvRecord[] = [];
  const parser = new CsvRecordParser({ ...options, maxRecordChars: Number.MAX_SAFE_INTEGER }, (r) => {
    records.push(r);
    return records.length < options.maxRecords;
  });
  parser.push(text);
  parser.end();
  return { records, parser };
}

/**
 * A record whose quote never closed, read with the quote as text, splits the text it meant to
 * quote at its delimiters: join the surplus fields back from the one where the quote opened.
 */
export function rejoinBrokenQuote(record: CsvRecord, columnCount: number, delimiter: string): string[] {
  const { fields, brokenQuoteField } = record;
  const surplus = fields.length - columnCount;
  if (brokenQuoteField === null || surplus <= 0 || brokenQuoteField + surplus >= fields.length) return fields;
  return [
    ...fields.slice(0, brokenQuoteField),
    fields.slice(brokenQuoteField, brokenQuoteField + surplus + 1).join(delimiter),
    ...fields.slice(brokenQuoteField + surplus + 1),
  ];
}
