#!/usr/bin/env node
/**
 * Generates test/fixtures/data/: a corpus of unusual and malformed dataset files, and
 * expected.json with the outcome each one must have (how it is read, its rows and columns, the
 * rows skipped with their line numbers, or the error naming the problem). test/data/corpus.test.ts
 * checks the importer against it. Deterministic: running it twice gives the same bytes.
 *
 *   node scripts/make-data-fixtures.mjs
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'test', 'fixtures', 'data');

/** @type {object[]} */
const cases = [];

/**
 * Writes one fixture and records its expected outcome.
 * @param {string} name file name under test/fixtures/data
 * @param {string | Buffer} content
 * @param {string} description what is unusual about the file
 * @param {object} expect the expected outcome (see test/data/corpus.test.ts)
 */
function fixture(name, content, description, expect) {
  const file = path.join(OUT, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
  cases.push({ file: name, description, ...expect });
}

const utf16be = (s) => {
  const le = Buffer.from(s, 'utf16le');
  for (let i = 0; i + 1 < le.length; i += 2) [le[i], le[i + 1]] = [le[i + 1], le[i]];
  return le;
};
const cp1252 = (s) =>
  Buffer.from(
    [...s].map((ch) => {
      const special = { '€': 0x80, '’': 0x92, '“': 0x93, '”': 0x94, '–': 0x96, '…': 0x85 }[ch];
      if (special !== undefined) return special;
      const c = ch.charCodeAt(0);
      if (c > 0xff) throw new Error(`not in cp1252: ${ch}`);
      return c;
    }),
  );

const WORDS = 'the a movie plot actor scene story long short funny sad great poor music light dark slow fast warm cold'.split(' ');
/** A deterministic varied sentence (no two alike for different seeds). */
function sentence(seed, words = 8) {
  const out = [];
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < words; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out.push(WORDS[x % WORDS.length]);
  }
  return `${out.join(' ')} ${seed}`;
}

/** A small labelled set: n rows alternating labels, texts that never repeat. */
function rows(n, labels = ['positive', 'negative']) {
  const out = [];
  for (let i = 0; i < n; i++) out.push([`example text number ${i + 1} about topic ${(i * 7) % 13}`, labels[i % labels.length]]);
  return out;
}
const csvLine = (fields) => fields.map((f) => (/[",\r\n]/.test(f) ? `"${f.replaceAll('"', '""')}"` : f)).join(',');

fs.rmSync(OUT, { recursive: true, force: true });
fs.mkdirSync(OUT, { recursive: true });

// ---------------------------------------------------------------- plain and encodings
{
  const body = rows(12);
  fixture('basic.csv', `text,label\n${body.map(csvLine).join('\n')}\n`, 'Plain CSV with a header, LF endings.', {
    parse: { format: 'delimited', encoding: 'utf-8', delimiter: ',', quoted: true, hasHeader: true },
    rows: 12,
    columns: ['text', 'label'],
    rowValues: { 0: body[0], 11: body[11] },
    skippedLines: [],
    suggested: { textColumns: [0], labelColumn: 1 },
    labelCount: 2,
    prepare: { split: { kind: 'ratio', evalRatio: 0.25, seed: 7 }, labels: ['negative', 'positive'], trainCount: 8, evalCount: 4 },
  });
}
{
  const text = 'texte,étiquette\nle café était très bon,positif\nune soirée ratée,négatif\nun dîner agréable,positif\nquel désastre,négatif\n';
  fixture('bom-utf8.csv', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]), 'UTF-8 with a byte-order mark; the BOM must not stick to the first column name.', {
    parse: { encoding: 'utf-8', delimiter: ',', hasHeader: true },
    rows: 4,
    columns: ['texte', 'étiquette'],
    rowValues: { 0: ['le café était très bon', 'positif'] },
    encodingNote: null,
    suggested: { textColumns: [0], labelColumn: 1 },
  });
  fixture('utf16le-bom.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]), 'UTF-16 LE with BOM (Excel "Unicode text").', {
    parse: { encoding: 'utf-16le', delimiter: ',', hasHeader: true },
    rows: 4,
    columns: ['texte', 'étiquette'],
    rowValues: { 1: ['une soirée ratée', 'négatif'] },
  });
  fixture('utf16be-bom.csv', Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be(text)]), 'UTF-16 BE with BOM.', {
    parse: { encoding: 'utf-16be', delimiter: ',', hasHeader: true },
    rows: 4,
    columns: ['texte', 'étiquette'],
    rowValues: { 3: ['quel désastre', 'négatif'] },
  });
  fixture('utf16le-nobom.tsv', Buffer.from(text.replaceAll(',', '\t'), 'utf16le'), 'UTF-16 LE without a BOM: recognised by its NUL bytes, and said so.', {
    parse: { encoding: 'utf-16le', delimiter: '\t', hasHeader: true },
    rows: 4,
    columns: ['texte', 'étiquette'],
    rowValues: { 2: ['un dîner agréable', 'positif'] },
    encodingNote: 'UTF-16 LE',
  });
}
{
  const lines = ['text,label'];
  for (let i = 0; i < 40; i++) lines.push(`plain ascii line ${i},${i % 2 ? 'ham' : 'spam'}`);
  lines.push('un café à 3 €,ham', '“smart quotes” – and an ellipsis…,spam');
  fixture('cp1252.csv', cp1252(`${lines.join('\r\n')}\r\n`), 'Windows-1252 bytes (é, €, smart quotes) after 40 ASCII lines: not UTF-8, read as Windows-1252 and said so.', {
    parse: { encoding: 'windows-1252', delimiter: ',', hasHeader: true },
    rows: 42,
    columns: ['text', 'label'],
    rowValues: { 40: ['un café à 3 €', 'ham'], 41: ['“smart quotes” – and an ellipsis…', 'spam'] },
    encodingNote: 'line 42',
  });
  fixture('cp1252-forced-utf8.csv', cp1252(`${lines.join('\n')}\n`), 'The same Windows-1252 file read with the encoding forced to UTF-8: an error naming the line.', {
    overrides: { encoding: 'utf-8' },
    error: { code: 'invalid_input', messageIncludes: ['line 42', 'UTF-8'] },
  });
}
{
  const text = 'Ｔｏｋｙｏ 東京 is 🎌 great,pos\nemoji 😀😀 party,pos\nСлава kirillitsa,neg\nعربى نص,neg\n';
  fixture('multibyte.csv', `text,label\n${text}`, 'UTF-8 with CJK, emoji, Cyrillic and Arabic.', {
    parse: { encoding: 'utf-8', hasHeader: true },
    rows: 4,
    rowValues: { 0: ['Ｔｏｋｙｏ 東京 is 🎌 great', 'pos'], 1: ['emoji 😀😀 party', 'pos'] },
  });
}

// ---------------------------------------------------------------- line endings and quoting
fixture('crlf.csv', 'text,label\r\nfirst row,a\r\nsecond row,b\r\nthird row,a\r\nfourth row,b\r\n', 'Windows CRLF line endings.', {
  parse: { delimiter: ',', hasHeader: true },
  rows: 4,
  rowValues: { 0: ['first row', 'a'], 3: ['fourth row', 'b'] },
});
fixture(
  'mixed-endings.csv',
  'text,label\r\nrow one,a\nrow two,b\rrow three,a\r\nrow four,b\nbad,row,with,extra\nrow five,a\rrow six,b',
  'LF, CRLF and lone CR in one file, no final newline; the ragged row on line 6 must be reported as line 6.',
  {
    parse: { delimiter: ',', hasHeader: true },
    rows: 6,
    rowValues: { 0: ['row one', 'a'], 2: ['row three', 'a'], 5: ['row six', 'b'] },
    skippedLines: [6],
    skippedReasons: ['4 fields where 2 were expected'],
  },
);
fixture('cr-only.csv', 'text,label\rold mac one,x\rold mac two,y\rold mac three,x\r', 'Classic Mac OS lone-CR line endings.', {
  rows: 3,
  rowValues: { 1: ['old mac two', 'y'] },
});
{
  const lines = [
    'text,label',
    '"a review that spans\ntwo lines",pos',
    '"windows\r\nbreak inside quotes",neg',
    '"commas, inside, quotes",pos',
    'plain row,neg',
    'ragged,row,here',
    '"last ""quoted"" row",pos',
  ];
  fixture('embedded-newlines.csv', `${lines.join('\n')}\n`, 'Quoted fields holding LF and CRLF: records span lines, and the ragged row after them is still reported at its true line (8).', {
    parse: { delimiter: ',', quoted: true, hasHeader: true },
    rows: 5,
    rowValues: {
      0: ['a review that spans\ntwo lines', 'pos'],
      1: ['windows\r\nbreak inside quotes', 'neg'],
      2: ['commas, inside, quotes', 'pos'],
      4: ['last "quoted" row', 'pos'],
    },
    rowLines: { 0: 2, 1: 4, 2: 6, 3: 7, 4: 9 },
    skippedLines: [8],
  });
}
{
  const body = [];
  for (let i = 0; i < 30; i++) body.push(csvLine([`review ${i}, with ${'commas, '.repeat(i % 4)}inside`, i % 2 ? 'pos' : 'neg']));
  body.splice(20, 0, '"this quote is never closed, and swallows,neg');
  fixture('unbalanced-quote.csv', `text,label\n${body.join('\n')}\n`, 'A quote opened on line 22 is never closed: that line is read with its quote as text (its label kept), it is reported, and line 23 on are read normally.', {
    parse: { delimiter: ',', quoted: true, hasHeader: true },
    rows: 31,
    skippedLines: [],
    rowValues: { 20: ['"this quote is never closed, and swallows', 'neg'], 21: ['review 20, with inside', 'neg'] },
    rowLines: { 20: 22, 21: 23 },
    warningsInclude: ['a quote opened on line 22 is never closed'],
  });
}
{
  const body = [];
  for (let i = 0; i < 30; i++) body.push(csvLine([`row ${i}, with ${'commas, '.repeat(i % 4)}inside`, i % 2 ? 'pos' : 'neg']));
  body.push('"unclosed at the end, pos', 'plain tail one,neg', 'plain tail two,pos');
  fixture('unclosed-quote-at-end.csv', `text,label\n${body.join('\n')}\n`, 'A quote opened on line 32 never closes before the end of the file: line 32 is read with its quote as text and reported; the lines after it are read.', {
    parse: { delimiter: ',', quoted: true, hasHeader: true },
    rows: 33,
    skippedLines: [],
    rowValues: { 30: ['"unclosed at the end', ' pos'], 32: ['plain tail two', 'pos'] },
    rowLines: { 30: 32, 32: 34 },
    warningsInclude: ['a quote opened on line 32 is never closed'],
  });
}
{
  const body = [];
  for (let i = 0; i < 299; i++) body.push(csvLine([`${sentence(i, 4)}, and ${sentence(i + 500, 3)}`, i % 2 ? 'pos' : 'neg']));
  body[2] = `"${sentence(2, 4)}, a quote never closed,pos`;
  fixture('unclosed-quote-line-4.csv', `text,label\n${body.join('\n')}\n`, 'Every text is quoted (it holds commas) and the quote on line 4 is never closed: the file stays quoted, line 4 keeps its quote as text and is reported, the 296 lines after it are read normally.', {
    parse: { delimiter: ',', quoted: true, hasHeader: true },
    rows: 299,
    skippedLines: [],
    rowValues: { 1: [`${sentence(1, 4)}, and ${sentence(501, 3)}`, 'pos'], 2: [`"${sentence(2, 4)}, a quote never closed`, 'pos'], 3: [`${sentence(3, 4)}, and ${sentence(503, 3)}`, 'pos'] },
    rowLines: { 2: 4, 3: 5 },
    labelCount: 2,
    warningsInclude: ['a quote opened on line 4 is never closed'],
    ambiguous: false,
  });
}
{
  const body = [];
  for (let i = 0; i < 30; i++) body.push(csvLine([`note ${i}, with a comma${', and more'.repeat(i % 3)}`, i % 2 ? 'pos' : 'neg']));
  body[5] = '"quoted part" then more text,pos';
  body[9] = 'inch mark 5" screen,neg';
  fixture('stray-quotes.csv', `text,label\n${body.join('\n')}\n`, 'Quotes in the middle of fields (a quoted part followed by text, an inch mark) are kept as text, like Python\'s csv module does.', {
    parse: { delimiter: ',', quoted: true, hasHeader: true },
    rows: 30,
    rowValues: { 5: ['"quoted part" then more text', 'pos'], 9: ['inch mark 5" screen', 'neg'] },
    skippedLines: [],
  });
}
fixture(
  'ragged.csv',
  'text,label\ngood one,a\ngood two,b\ntoo,many,fields\nonly-one-field\ngood three,a\ngood four,b\n',
  'Rows with too many and too few fields are skipped and reported with their lines (4 and 5).',
  {
    rows: 4,
    skippedLines: [4, 5],
    skippedReasons: ['3 fields where 2 were expected', '1 field where 2 were expected'],
    warningsInclude: ['line 4', 'line 5'],
  },
);
fixture('trailing-delimiters.csv', 'text,label,,\nexported from excel,a,,\nwith empty trailing cells,b,,\nthird,a,,\n', 'Spreadsheet export with empty trailing cells on every line: they are ignored.', {
  rows: 3,
  columns: ['text', 'label'],
  rowValues: { 1: ['with empty trailing cells', 'b'] },
  skippedLines: [],
});
fixture('no-final-newline.csv', 'text,label\nalpha,x\nbeta,y\ngamma,x', 'The last line has no line break.', {
  rows: 3,
  rowValues: { 2: ['gamma', 'x'] },
});
fixture('whitespace-lines.csv', 'text,label\n\nfirst,a\n   \nsecond,b\n\n\nthird,a\n', 'Blank and whitespace-only lines between rows are ignored, and row lines stay true.', {
  rows: 3,
  rowLines: { 0: 3, 1: 5, 2: 8 },
});

// ---------------------------------------------------------------- empty and degenerate
fixture('empty.csv', '', 'An empty file (0 bytes).', { error: { code: 'invalid_input', messageIncludes: ['empty.csv', 'empty'] } });
fixture('blank-only.csv', '\n\n   \n\t\n', 'Only blank lines.', { error: { code: 'invalid_input', messageIncludes: ['blank'] } });
fixture('header-only.csv', 'text,label\n', 'A header and no data rows: inspection says so, the doctor blocks, prepare refuses.', {
  parse: { hasHeader: true },
  rows: 0,
  columns: ['text', 'label'],
  warningsInclude: ['no data rows'],
  doctor: { mapping: { textColumns: [0], labelColumn: 1 }, blocking: ['no-rows'] },
  prepare: { mapping: { textColumns: [0], labelColumn: 1 }, split: { kind: 'ratio', evalRatio: 0.2, seed: 1 }, error: ['no usable rows'] },
});
{
  const lines = ['text,label'];
  for (let i = 0; i < 20; i++) lines.push(`all the same class ${i},positive`);
  fixture('one-class.csv', `${lines.join('\n')}\n`, 'Every row has the same label: a blocking problem.', {
    rows: 20,
    warningsInclude: ['single value'],
    doctor: { mapping: { textColumns: [0], labelColumn: 1 }, blocking: ['one-class'] },
    prepare: { mapping: { textColumns: [0], labelColumn: 1 }, split: { kind: 'ratio', evalRatio: 0.2, seed: 1 }, error: ['single label', 'positive'] },
  });
}
{
  const lines = ['text,label'];
  for (let i = 0; i < 20; i++) lines.push(`,${i % 2 ? 'a' : 'b'}`);
  fixture('all-empty-text.csv', `${lines.join('\n')}\n`, 'The text column is empty on every row: no text column to suggest; the doctor blocks.', {
    rows: 20,
    columns: ['text', 'label'],
    suggested: null,
    warningsInclude: ['no text'],
    doctor: { mapping: { textColumns: [0], labelColumn: 1 }, blocking: ['no-text-column'] },
  });
}
{
  const lines = [];
  for (let i = 0; i < 30; i++) lines.push(`this is just a sentence number ${i} without any label at all`);
  fixture('single-column.txt', `${lines.join('\n')}\n`, 'One sentence per line, no delimiter and no label: refused with what a training file needs.', {
    error: { code: 'unsupported', messageIncludes: ['could not find columns', 'label'] },
  });
}
{
  const zip = Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x06, 0x00]), Buffer.alloc(200, 0x41)]);
  fixture('workbook.xlsx', zip, 'An Excel workbook (a zip archive) given instead of a CSV.', {
    error: { code: 'unsupported', messageIncludes: ['zip', 'CSV'] },
  });
  const binary = Buffer.alloc(2048);
  for (let i = 0; i < binary.length; i++) binary[i] = i % 3 === 0 ? (i * 37) % 256 : 0;
  fixture('binary.dat', binary, 'Binary data full of NUL bytes.', { error: { code: 'unsupported', messageIncludes: ['does not look like a text file'] } });
}

// ---------------------------------------------------------------- NUL bytes, long fields, many classes
fixture(
  'nul-bytes.csv',
  Buffer.concat([Buffer.from('text,label\nclean row,a\nnul\u0000inside,b\nanother clean,a\ntwo\u0000nul\u0000s,b\n')]),
  'NUL characters inside fields are removed and the rows are named (lines 3 and 5).',
  {
    rows: 4,
    rowValues: { 1: ['nulinside', 'b'], 3: ['twonuls', 'b'] },
    warningsInclude: ['NUL', 'lines 3, 5'],
  },
);
{
  const long = 'lorem ipsum dolor sit amet '.repeat(11_112).slice(0, 300_000);
  fixture('long-field.csv', `text,label\nshort one,a\n"${long}",b\nshort two,a\n`, 'A 300,000-character field, longer than the detection sample.', {
    rows: 3,
    rowLengths: { 1: [300_000, 1] },
    rowValues: { 2: ['short two', 'a'] },
  });
}
{
  const lines = ['text,label'];
  for (let c = 0; c < 10_000; c++) {
    const cls = `c${String(c).padStart(4, '0')}`;
    lines.push(`x${c}a,${cls}`, `x${c}b,${cls}`);
  }
  fixture('ten-thousand-classes.csv', `${lines.join('\n')}\n`, '10,000 classes of two rows each: every class goes to both sides of a 50 % split.', {
    rows: 20_000,
    labelCount: 10_000,
    suggested: { textColumns: [0], labelColumn: 1 },
    prepare: { split: { kind: 'ratio', evalRatio: 0.5, seed: 3 }, labelCount: 10_000, trainCount: 10_000, evalCount: 10_000, everyClassBothSides: true },
  });
}

// ---------------------------------------------------------------- a header the `LABEL text` reading cannot explain
{
  const lines = ['text,label'];
  for (let i = 0; i < 2000; i++) lines.push(`${sentence(i, 7)},${['Teen', 'Apple', 'Markets', 'Oil'][i % 4]}${i % 1000}`);
  fixture('thousand-classes-header.csv', `${lines.join('\n')}\n`, '`text,label` with 1,000 labels over 2,000 rows whose texts start with a few common words: read as two columns with their header (the header explains the file; a `LABEL text` reading would take each first word as the label and skip the header).', {
    parse: { format: 'delimited', delimiter: ',', hasHeader: true },
    rows: 2000,
    columns: ['text', 'label'],
    skippedLines: [],
    labelCount: 1000,
    suggested: { textColumns: [0], labelColumn: 1 },
    ambiguous: false,
    alternatives: ['label-first'],
  });
}
{
  const lines = ['text,label'];
  for (let i = 0; i < 10_000; i++) lines.push(`${sentence(i, 6)},topic${String(i).padStart(5, '0')}`);
  fixture('ten-thousand-classes-sentences.csv', `${lines.join('\n')}\n`, '`text,label` with 10,000 distinct labels, one row each, texts of common words: two columns with a header, not `LABEL text`.', {
    parse: { format: 'delimited', delimiter: ',', hasHeader: true },
    rows: 10_000,
    columns: ['text', 'label'],
    skippedLines: [],
    ambiguous: false,
  });
}
{
  const lines = ['text,label'];
  for (let i = 0; i < 300; i++) lines.push(`${WORDS[(i * 5) % 20]} ${WORDS[(i * 3) % 20]} ${WORDS[i % 20]} ${WORDS[(i * 7) % 20]},sports`);
  fixture('one-class-small-vocabulary.csv', `${lines.join('\n')}\n`, '`text,label` with a single label over short texts from a 20-word vocabulary: two columns with a header; the doctor blocks on the single label.', {
    parse: { format: 'delimited', delimiter: ',', hasHeader: true },
    rows: 300,
    columns: ['text', 'label'],
    suggested: { textColumns: [0], labelColumn: 1 },
    ambiguous: false,
    doctor: { mapping: { textColumns: [0], labelColumn: 1 }, blocking: ['one-class'] },
  });
}
{
  const lines = ['text,label'];
  for (let i = 0; i < 400; i++) lines.push(i % 25 === 7 ? `${sentence(i, 5)},extra,field` : `${sentence(i, 6)},label${i % 300}`);
  fixture('ragged-many-classes.csv', `${lines.join('\n')}\n`, '`text,label` with 300 labels and some ragged rows (3 fields): two columns with a header, the ragged rows reported with their lines.', {
    parse: { format: 'delimited', delimiter: ',', hasHeader: true },
    rows: 384,
    columns: ['text', 'label'],
    skippedLines: [9, 34, 59, 84, 109, 134, 159, 184, 209, 234, 259, 284, 309, 334, 359, 384],
    ambiguous: false,
  });
}
{
  const lines = [];
  for (let i = 0; i < 400; i++) lines.push(`${sentence(i, 6)},${['Teen', 'Apple', 'Oil', 'Web'][i % 4]}${i % 150}`);
  fixture('headerless-two-readings.csv', `${lines.join('\n')}\n`, 'No header, texts starting with a few common words, 150 short labels after a comma: both `text,label` columns and `LABEL text` lines explain every line, so the inspection says it is ambiguous and offers the other reading.', {
    parse: { format: 'delimited', delimiter: ',', hasHeader: false },
    rows: 400,
    ambiguous: true,
    alternatives: ['label-first'],
    warningsInclude: ['can be read in two ways'],
  });
}

// ---------------------------------------------------------------- numbers, names, labels
{
  const lines = ['label,text'];
  for (let i = 0; i < 30; i++) lines.push(`${i % 3},numeric label row ${i} with words`);
  fixture('numeric-labels.csv', `${lines.join('\n')}\n`, 'The label column is all numbers (0, 1, 2) and comes first.', {
    rows: 30,
    columns: ['label', 'text'],
    columnTypes: ['number', 'text'],
    suggested: { textColumns: [1], labelColumn: 0 },
    labelCount: 3,
    prepare: { split: { kind: 'ratio', evalRatio: 0.2, seed: 1 }, labels: ['0', '1', '2'], trainCount: 24, evalCount: 6 },
  });
}
{
  const lines = [];
  for (let i = 0; i < 24; i++) lines.push(`"${(i % 3) + 1}","Headline number ${i} of the day","Body of news story ${i}, with a comma"`);
  fixture('with-classes/news.csv', `${lines.join('\n')}\n`, 'AG News layout (class code, title, description, no header) with a classes.txt beside it naming the codes.', {
    parse: { hasHeader: false },
    rows: 24,
    columns: ['column 1', 'column 2', 'column 3'],
    suggested: { textColumns: [1, 2], labelColumn: 0, labelNames: { 1: 'World', 2: 'Sports', 3: 'Business' } },
    labelNamesFromClassesTxt: true,
    prepare: { split: { kind: 'ratio', evalRatio: 0.25, seed: 1 }, labels: ['World', 'Sports', 'Business'], trainCount: 18, evalCount: 6, someText: 'Headline number 0 of the day Body of news story 0, with a comma' },
  });
  fs.writeFileSync(path.join(OUT, 'with-classes', 'classes.txt'), 'World\nSports\nBusiness\n');
}
{
  const lines = ['id,text,label'];
  for (let i = 0; i < 20; i++) lines.push(`${1000 + i},some review text number ${i},${['good', 'bad', 'meh'][i % 3]}`);
  fixture('id-column.csv', `${lines.join('\n')}\n`, 'An id column (unique numbers) is neither the text nor the label.', {
    rows: 20,
    columnTypes: ['number', 'text', 'category'],
    suggested: { textColumns: [1], labelColumn: 2 },
  });
}
fixture('duplicate-header.csv', 'text,text,label\nfirst part,second part,a\nmore,words here,b\nthird,row,a\n', 'Two columns share a header name; they stay apart.', {
  columns: ['text', 'text (2)', 'label'],
  rows: 3,
});
{
  const labels = ['Sports', 'sports ', ' SPORTS', 'Politics', 'politics'];
  const lines = ['text,label'];
  for (let i = 0; i < 20; i++) lines.push(`headline number ${i},${labels[i % labels.length]}`);
  fixture('label-variants.csv', `${lines.join('\n')}\n`, '"Sports", "sports " and " SPORTS" are one label; the merge is reported.', {
    rows: 20,
    labelCount: 2,
    warningsInclude: ['treated as one label', '"Sports"'],
    prepare: { split: { kind: 'ratio', evalRatio: 0.25, seed: 1 }, labels: ['Politics', 'Sports'], trainCount: 15, evalCount: 5, warningsInclude: ['"sports "'] },
  });
}
{
  const lines = ['text,label'];
  for (let i = 0; i < 20; i++) lines.push(`row ${i} of the file,${i === 3 || i === 11 ? '' : i % 2 ? 'x' : 'y'}`);
  fixture('missing-labels.csv', `${lines.join('\n')}\n`, 'Rows 5 and 13 have no label: reported with their lines, left out.', {
    rows: 20,
    warningsInclude: ['2 rows have no label'],
    doctor: { mapping: { textColumns: [0], labelColumn: 1 }, findings: { 'missing-labels': [5, 13] } },
    prepare: { split: { kind: 'ratio', evalRatio: 0.25, seed: 1 }, trainCount: 13, evalCount: 5, warningsInclude: ['lines 5, 13'] },
  });
}
{
  const lines = ['text,label'];
  const texts = ['alpha', 'beta', 'gamma', 'alpha', 'delta', 'beta', 'epsilon', 'zeta', 'eta', 'theta'];
  const labels = ['a', 'b', 'a', 'a', 'b', 'a', 'b', 'a', 'b', 'a'];
  texts.forEach((t, i) => lines.push(`${t} text,${labels[i]}`));
  fixture('duplicates.csv', `${lines.join('\n')}\n`, '"alpha" repeats with the same label (line 5), "beta" with another label (line 7).', {
    rows: 10,
    doctor: { mapping: { textColumns: [0], labelColumn: 1 }, findings: { duplicates: [5], 'conflicting-duplicates': [7] } },
    prepare: { split: { kind: 'ratio', evalRatio: 0.3, seed: 1 }, cleaning: { dropDuplicates: true, dropConflicting: true }, trainCount: 5, evalCount: 2 },
  });
}

// ---------------------------------------------------------------- delimiters and layouts
fixture('semicolon.csv', 'texte;note\nil coûte 3,50 euros;bon\nun prix de 2,10;mauvais\nencore 1,5 litre;bon\nrien à dire, vraiment;mauvais\n', 'Semicolon-separated (European Excel), decimal commas inside the text, a French header.', {
  parse: { delimiter: ';', hasHeader: true },
  rows: 4,
  columns: ['texte', 'note'],
  rowValues: { 0: ['il coûte 3,50 euros', 'bon'] },
});
fixture('pipe.txt', 'message|label\nhello there, friend|greeting\nsee you later|farewell\nhi, all|greeting\nbye now|farewell\n', 'Pipe-separated .txt with a header.', {
  parse: { delimiter: '|', hasHeader: true },
  rows: 4,
  columns: ['message', 'label'],
});
{
  const lines = ['text\tlabel'];
  for (let i = 0; i < 10; i++) lines.push(`a "quoted" word, and commas ${i}\t${i % 2 ? 'spam' : 'ham'}`);
  lines.push('"starts with a quote" then text\tham');
  fixture('tab.tsv', `${lines.join('\n')}\n`, 'Tab-separated with quotes that are not CSV quoting (as in SMS Spam): read as text.', {
    parse: { delimiter: '\t', quoted: false, hasHeader: true },
    rows: 11,
    rowValues: { 0: ['a "quoted" word, and commas 0', 'ham'], 10: ['"starts with a quote" then text', 'ham'] },
  });
}
{
  const lines = [
    JSON.stringify({ text: 'good movie', label: 'pos' }),
    JSON.stringify({ text: 'bad movie', label: 'neg' }),
    '{"text": "broken json, "label": "pos"}',
    JSON.stringify({ text: 'fine film', label: 'pos', extra: 1 }),
    '',
    '[1, 2, 3]',
    JSON.stringify({ text: 'awful film', label: 'neg' }),
  ];
  fixture('rows.jsonl', `${lines.join('\n')}\n`, 'JSON lines with an invalid line (3), a blank line and an array (line 6).', {
    parse: { format: 'jsonl', hasHeader: true },
    rows: 4,
    columns: ['text', 'label', 'extra'],
    rowValues: { 2: ['fine film', 'pos', '1'] },
    skippedLines: [3, 6],
    skippedReasons: ['not valid JSON', 'not a JSON object'],
    suggested: { textColumns: [0], labelColumn: 1 },
  });
}
{
  const lines = [];
  for (let i = 0; i < 12; i++) lines.push(JSON.stringify({ review: { title: `t${i}`, body: `review body ${i} is long enough` }, stars: (i % 5) + 1, sentence: `sentence ${i} is the text` }));
  fixture('nested.jsonl', `${lines.join('\r\n')}\r\n`, 'JSON lines with nested objects and numeric labels, CRLF endings.', {
    parse: { format: 'jsonl' },
    rows: 12,
    columns: ['review', 'stars', 'sentence'],
    rowValues: { 0: [JSON.stringify({ title: 't0', body: 'review body 0 is long enough' }), '1', 'sentence 0 is the text'] },
  });
}
fixture('not-json.jsonl', 'text,label\nthis is csv,a\n', 'A .jsonl file that holds CSV: refused, naming the line.', {
  error: { code: 'invalid_input', messageIncludes: ['line 1', 'JSON'] },
});
{
  const lines = [];
  const labels = ['NUM:dist', 'LOC:city', 'HUM:desc', 'DESC:def'];
  for (let i = 0; i < 24; i++) lines.push(`${labels[i % 4]} What is ${sentence(i, 4)} , ${sentence(i + 100, 3)} ?`);
  lines.splice(7, 0, 'ENTY:other');
  fixture('label-first.txt', `${lines.join('\n')}\n`, 'TREC-style `LABEL text` lines; a line with a label and no text (line 8) is reported.', {
    parse: { format: 'label-first' },
    rows: 24,
    columns: ['label', 'text'],
    rowValues: { 0: ['NUM:dist', `What is ${sentence(0, 4)} , ${sentence(100, 3)} ?`] },
    skippedLines: [8],
    skippedReasons: ['no text'],
    suggested: { textColumns: [1], labelColumn: 0 },
  });
}
{
  const lines = [];
  for (let i = 0; i < 30; i++) lines.push(`${i < 15 ? 0 : 1} ${sentence(i, 5)} , ${sentence(i + 50, 4)} .`);
  fixture('label-first-sorted.txt', cp1252(`${lines.join('\n')}\n1 naïve café …\n`), 'SST-2/MR style `0 text` lines sorted by label, Latin-1 bytes at the end.', {
    parse: { format: 'label-first', encoding: 'windows-1252' },
    rows: 31,
    labelCount: 2,
    rowValues: { 30: ['1', 'naïve café …'] },
  });
}

fs.writeFileSync(path.join(OUT, 'expected.json'), `${JSON.stringify({ generatedBy: 'scripts/make-data-fixtures.mjs', cases }, null, 2)}\n`);
fs.writeFileSync(
  path.join(OUT, 'README.md'),
  `# Dataset import corpus\n\nGenerated by \`node scripts/make-data-fixtures.mjs\`; do not edit by hand. ${cases.length} files, each described with its\nexpected outcome in expected.json and checked by test/data/corpus.test.ts.\n`,
);
console.log(`wrote ${cases.length} fixtures to ${path.relative(ROOT, OUT)}`);
