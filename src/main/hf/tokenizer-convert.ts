/**
 * Builds a tokenizer.json for folders that ship only the slow-tokenizer files, exactly as Python
 * transformers' convert_slow_tokenizer.py does when it loads them with a *TokenizerFast:
 *   vocab.txt               -> BertConverter: WordPiece, BertNormalizer, BertPreTokenizer, [CLS] $A [SEP]
 *   vocab.json + merges.txt -> RobertaConverter: byte-level BPE, RobertaProcessing
 *   spiece.model            -> AlbertConverter: Unigram with the SentencePiece scores, `` '' -> ",
 *                              NFKD + strip accents, lowercase, Precompiled charsmap, Metaspace,
 *                              [CLS] $A [SEP]
 * plus the added (special) tokens the fast tokenizer registers from tokenizer_config.json /
 * special_tokens_map.json. No file is written; the result is a tokenizer.json object.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../../shared/errors';
import type { JsonObject, JsonValue } from '../../shared/json';
import { FAMILIES, isModelFamily } from '../../shared/model-families';
import type { TokenizerSource } from '../../shared/models';
import { parseSentencePieceModel, PIECE_TYPES, ProtobufError, SPM_MODEL_TYPES, type SentencePieceModel } from './sentencepiece';

export interface ConvertedTokenizer {
  tokenizer: JsonObject;
  source: TokenizerSource;
  /** Choices made without an explicit setting (e.g. lowercasing assumed), for the import report. */
  warnings: string[];
}

export interface DetectedTokenizer {
  source: TokenizerSource;
  /** Files the source needs that are absent (merges.txt next to vocab.json...). */
  missing: string[];
}

/** Where a folder's tokenizer would come from, preferring tokenizer.json, then the family's own files. */
export function detectTokenizerSource(dir: string, modelType?: string): DetectedTokenizer | null {
  const has = (f: string): boolean => fs.existsSync(path.join(dir, f));
  if (has('tokenizer.json')) return { source: 'tokenizer.json', missing: [] };
  const order: TokenizerSource[] = ['vocab.txt', 'vocab.json+merges.txt', 'spiece.model'];
  const preferred = isModelFamily(modelType) ? FAMILIES[modelType].tokenizer.source : undefined;
  const candidates = preferred ? [preferred, ...order.filter((s) => s !== preferred)] : order;
  for (const source of candidates) {
    if (source === 'vocab.txt' && has('vocab.txt')) return { source, missing: [] };
    if (source === 'spiece.model' && has('spiece.model')) return { source, missing: [] };
    if (source === 'vocab.json+merges.txt' && (has('vocab.json') || has('merges.txt'))) {
      return { source, missing: ['vocab.json', 'merges.txt'].filter((f) => !has(f)) };
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Special tokens from tokenizer_config.json / special_tokens_map.json
// ---------------------------------------------------------------------------------------------

interface SpecialToken {
  content: string;
  lstrip: boolean;
  rstrip: boolean;
  singleWord: boolean;
  normalized: boolean | null;
}

const SPECIAL_KEYS = ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'] as const;
type SpecialKey = (typeof SPECIAL_KEYS)[number];

function readJsonIfPresent(file: string): JsonObject {
  if (!fs.existsSync(file)) return {};
  try {
    const v = JSON.parse(fs.readFileSync(file, 'utf8')) as JsonValue;
    return v && typeof v === 'object' && !Array.isArray(v) ? v : {};
  } catch (err) {
    throw new AppError('io', `${file}: is not valid JSON (${(err as Error).message}); fix or delete it`);
  }
}

/** A special token given as a string or as a serialised AddedToken ({content, lstrip, ...}). */
function specialFrom(value: JsonValue | undefined): SpecialToken | null {
  if (typeof value === 'string') return { content: value, lstrip: false, rstrip: false, singleWord: false, normalized: null };
  if (value && typeof value === 'object' && !Array.isArray(value) && typeof value.content === 'string') {
    return {
      content: value.content,
      lstrip: value.lstrip === true,
      rstrip: value.rstrip === true,
      singleWord: value.single_word === true,
      normalized: typeof value.normalized === 'boolean' ? value.normalized : null,
    };
  }
  return null;
}

/** tokenizer_config.json merged over special_tokens_map.json (as from_pretrained merges them). */
function tokenizerSettings(dir: string, config: JsonObject): JsonObject {
  return { ...readJsonIfPresent(path.join(dir, 'special_tokens_map.json')), ...config };
}

function specials(settings: JsonObject, defaults: Partial<Record<SpecialKey, SpecialToken>>): Map<SpecialKey, SpecialToken> {
  const out = new Map<SpecialKey, SpecialToken>();
  for (const key of SPECIAL_KEYS) {
    const given = specialFrom(settings[key]);
    const def = defaults[key];
    if (given) {
      // A plain string keeps the class default's flags (e.g. RoBERTa's <mask> lstrip).
      out.set(key, typeof settings[key] === 'string' && def && def.content === given.content ? def : given);
    } else if (def && settings[key] !== null) {
      out.set(key, def);
    }
  }
  return out;
}

const tok = (content: string, extra: Partial<SpecialToken> = {}): SpecialToken => ({ content, lstrip: false, rstrip: false, singleWord: false, normalized: null, ...extra });

function addedTokenJson(id: number, t: SpecialToken, special: boolean, normalizedDefault: boolean): JsonObject {
  return {
    id,
    content: t.content,
    single_word: t.singleWord,
    lstrip: t.lstrip,
    rstrip: t.rstrip,
    normalized: t.normalized ?? normalizedDefault,
    special,
  };
}

/**
 * The added_tokens list: the special tokens (and additional_special_tokens) that exist in the
 * vocabulary, then added_tokens.json entries, sorted by id, one entry per content.
 */
function addedTokens(
  dir: string,
  settings: JsonObject,
  special: Map<SpecialKey, SpecialToken>,
  idOf: (token: string) => number | undefined,
  normalizedDefault: boolean,
  extra: { id: number; token: SpecialToken; special: boolean }[] = [],
): JsonObject[] {
  const byContent = new Map<string, JsonObject>();
  const put = (id: number, t: SpecialToken, isSpecial: boolean): void => {
    const prev = byContent.get(t.content);
    if (prev) {
      if (isSpecial) prev.special = true;
      return;
    }
    byContent.set(t.content, addedTokenJson(id, t, isSpecial, normalizedDefault));
  };
  for (const e of extra) put(e.id, e.token, e.special);
  for (const t of special.values()) {
    const id = idOf(t.content);
    if (id !== undefined) put(id, t, true);
  }
  const additional = settings.additional_special_tokens;
  if (Array.isArray(additional)) {
    for (const a of additional) {
      const t = specialFrom(a);
      const id = t ? idOf(t.content) : undefined;
      if (t && id !== undefined) put(id, t, true);
    }
  }
  const addedFile = readJsonIfPresent(path.join(dir, 'added_tokens.json'));
  for (const [content, id] of Object.entries(addedFile)) {
    if (typeof id === 'number' && Number.isInteger(id)) put(id, tok(content), false);
  }
  return [...byContent.values()].sort((a, b) => (a.id as number) - (b.id as number));
}

function requireId(idOf: (t: string) => number | undefined, token: string, file: string): number {
  const id = idOf(token);
  if (id === undefined) throw new AppError('unsupported', `${file} has no token ${token}, which the model needs to mark the start and end of a text; this tokenizer does not fit a ${token} classifier`);
  return id;
}

function templateProcessing(cls: string, clsId: number, sep: string, sepId: number): JsonObject {
  return {
    type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: cls, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: sep, type_id: 0 } }],
    pair: [
      { SpecialToken: { id: cls, type_id: 0 } },
      { Sequence: { id: 'A', type_id: 0 } },
      { SpecialToken: { id: sep, type_id: 0 } },
      { Sequence: { id: 'B', type_id: 1 } },
      { SpecialToken: { id: sep, type_id: 1 } },
    ],
    special_tokens: {
      [cls]: { id: cls, ids: [clsId], tokens: [cls] },
      [sep]: { id: sep, ids: [sepId], tokens: [sep] },
    },
  };
}

function boolSetting(settings: JsonObject, key: string): boolean | null {
  const v = settings[key];
  return typeof v === 'boolean' ? v : null;
}

// ---------------------------------------------------------------------------------------------
// BERT: vocab.txt
// ---------------------------------------------------------------------------------------------

/** vocab.txt as transformers' load_vocab reads it: one token per line (universal newlines), id = line number. */
export function readVocabTxt(file: string): Map<string, number> {
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split(/\r\n|\r|\n/);
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  const vocab = new Map<string, number>();
  lines.forEach((token, i) => vocab.set(token, i));
  if (vocab.size === 0) throw new AppError('io', `${file} is empty; download the model again`);
  return vocab;
}

function looksCased(dir: string, settings: JsonObject): boolean {
  const names = [dir, typeof settings.name_or_path === 'string' ? settings.name_or_path : ''];
  const configFile = path.join(dir, 'config.json');
  if (fs.existsSync(configFile)) {
    const c = readJsonIfPresent(configFile);
    if (typeof c._name_or_path === 'string') names.push(c._name_or_path);
  }
  return names.some((n) => /(?<!un)cased/i.test(path.basename(n)) || /models--[^/\\]*(?<!un)cased/i.test(n));
}

export function bertTokenizerJson(dir: string, config: JsonObject): ConvertedTokenizer {
  const file = path.join(dir, 'vocab.txt');
  const vocab = readVocabTxt(file);
  const settings = tokenizerSettings(dir, config);
  const warnings: string[] = [];
  let lowercase = boolSetting(settings, 'do_lower_case');
  if (lowercase === null) {
    lowercase = !looksCased(dir, settings);
    warnings.push(
      lowercase
        ? 'tokenizer_config.json does not say do_lower_case; text is lowercased, as BertTokenizer does by default (the uncased models)'
        : 'tokenizer_config.json does not say do_lower_case; the model name says "cased", so text keeps its case',
    );
  }
  const stripAccents = boolSetting(settings, 'strip_accents');
  const chinese = boolSetting(settings, 'tokenize_chinese_chars') ?? true;
  const special = specials(settings, { unk_token: tok('[UNK]'), sep_token: tok('[SEP]'), pad_token: tok('[PAD]'), cls_token: tok('[CLS]'), mask_token: tok('[MASK]') });
  const idOf = (t: string): number | undefined => vocab.get(t);
  const cls = special.get('cls_token')!.content;
  const sep = special.get('sep_token')!.content;
  const unk = special.get('unk_token')?.content ?? '[UNK]';
  const tokenizer: JsonObject = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens(dir, settings, special, idOf, false),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: chinese, strip_accents: stripAccents, lowercase },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: templateProcessing(cls, requireId(idOf, cls, file), sep, requireId(idOf, sep, file)),
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: unk, continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: Object.fromEntries(vocab) },
  };
  return { tokenizer, source: 'vocab.txt', warnings };
}

// ---------------------------------------------------------------------------------------------
// RoBERTa: vocab.json + merges.txt
// ---------------------------------------------------------------------------------------------

/** merges.txt: "#version" header and blank lines skipped, one "left right" pair per line. */
export function readMerges(file: string): string[] {
  const merges: string[] = [];
  const lines = fs.readFileSync(file, 'utf8').split(/\r\n|\r|\n/);
  lines.forEach((lineText, i) => {
    if (i === 0 && lineText.startsWith('#version')) return;
    if (lineText.trim() === '') return;
    const parts = lineText.split(' ').filter((p) => p.length > 0);
    if (parts.length !== 2) throw new AppError('io', `${file}: line ${i + 1} is not a pair of tokens ("${lineText.slice(0, 40)}"); download the model again`);
    merges.push(`${parts[0]} ${parts[1]}`);
  });
  return merges;
}

export function robertaTokenizerJson(dir: string, config: JsonObject): ConvertedTokenizer {
  const vocabFile = path.join(dir, 'vocab.json');
  const mergesFile = path.join(dir, 'merges.txt');
  for (const f of [vocabFile, mergesFile]) {
    if (!fs.existsSync(f)) throw new AppError('not_found', `${dir} has ${path.basename(f) === 'merges.txt' ? 'vocab.json but no merges.txt' : 'merges.txt but no vocab.json'}; a byte-level BPE tokenizer needs both. Download the model again.`);
  }
  let vocab: Record<string, number>;
  try {
    vocab = JSON.parse(fs.readFileSync(vocabFile, 'utf8')) as Record<string, number>;
  } catch (err) {
    throw new AppError('io', `${vocabFile}: is not valid JSON (${(err as Error).message}); download the model again`);
  }
  if (!vocab || typeof vocab !== 'object' || Array.isArray(vocab) || !Object.values(vocab).every((v) => Number.isInteger(v))) {
    throw new AppError('io', `${vocabFile}: is not a token -> id map`);
  }
  const merges = readMerges(mergesFile);
  const settings = tokenizerSettings(dir, config);
  const addPrefixSpace = boolSetting(settings, 'add_prefix_space') ?? false;
  const trimOffsets = boolSetting(settings, 'trim_offsets') ?? true;
  const special = specials(settings, {
    bos_token: tok('<s>'),
    eos_token: tok('</s>'),
    sep_token: tok('</s>'),
    cls_token: tok('<s>'),
    unk_token: tok('<unk>'),
    pad_token: tok('<pad>'),
    mask_token: tok('<mask>', { lstrip: true }),
  });
  const idOf = (t: string): number | undefined => (Object.prototype.hasOwnProperty.call(vocab, t) ? vocab[t] : undefined);
  const cls = special.get('cls_token')!.content;
  const sep = special.get('sep_token')!.content;
  const tokenizer: JsonObject = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens(dir, settings, special, idOf, true),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: true },
    post_processor: { type: 'RobertaProcessing', sep: [sep, requireId(idOf, sep, vocabFile)], cls: [cls, requireId(idOf, cls, vocabFile)], trim_offsets: trimOffsets, add_prefix_space: addPrefixSpace },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, vocab, merges },
  };
  return { tokenizer, source: 'vocab.json+merges.txt', warnings: [] };
}

// ---------------------------------------------------------------------------------------------
// ALBERT: spiece.model
// ---------------------------------------------------------------------------------------------

/** Python's str.isdigit for one character: decimal digits plus super/subscript digits. */
function isDigitChar(c: string): boolean {
  return /^[\p{Nd}\u00B2\u00B3\u00B9\u2070\u2074-\u2079\u2080-\u2089\u2460-\u2468\u2474-\u247C\u2488-\u2490\u24EA\u24F5-\u24FD\u24FF\u2776-\u277E\u2780-\u2788\u278A-\u2792]$/u.test(c);
}

/** AlbertConverter's check_number_comma: pieces like "9," are demoted by 100 (the slow tokenizer splits them). */
export function checkNumberComma(piece: string): boolean {
  const chars = [...piece];
  return chars.length < 2 || chars[chars.length - 1] !== ',' || !isDigitChar(chars[chars.length - 2]!);
}

export function albertTokenizerJsonFromModel(spm: SentencePieceModel, file: string, dir: string, config: JsonObject): ConvertedTokenizer {
  if (spm.trainerSpec.modelType !== SPM_MODEL_TYPES.UNIGRAM) {
    const kind = Object.entries(SPM_MODEL_TYPES).find(([, v]) => v === spm.trainerSpec.modelType)?.[0] ?? String(spm.trainerSpec.modelType);
    throw new AppError('unsupported', `${file}: is a ${kind} SentencePiece model; only Unigram models (ALBERT's) are converted. Provide a tokenizer.json.`);
  }
  const warnings: string[] = [];
  if (spm.trainerSpec.byteFallback) warnings.push(`${path.basename(file)} uses byte fallback, which the converted tokenizer (like transformers' AlbertConverter) does not: unknown characters become <unk>`);
  const settings = tokenizerSettings(dir, config);
  const lowercase = boolSetting(settings, 'do_lower_case') ?? true;
  const keepAccents = boolSetting(settings, 'keep_accents') ?? false;
  const addPrefixSpace = boolSetting(settings, 'add_prefix_space') ?? true;
  const legacy = boolSetting(settings, 'legacy') ?? true;
  const prependScheme = addPrefixSpace ? (legacy ? 'always' : 'first') : 'never';

  const pieces = spm.pieces;
  const ids = new Map<string, number>();
  pieces.forEach((p, i) => {
    if (!ids.has(p.piece)) ids.set(p.piece, i);
  });
  const idOf = (t: string): number | undefined => ids.get(t);
  if (spm.trainerSpec.unkId < 0 || spm.trainerSpec.unkId >= pieces.length) throw new AppError('unsupported', `${file}: unk_id ${spm.trainerSpec.unkId} is not a piece`);

  const normalizers: JsonObject[] = [
    { type: 'Replace', pattern: { String: '``' }, content: '"' },
    { type: 'Replace', pattern: { String: "''" }, content: '"' },
  ];
  if (!keepAccents) normalizers.push({ type: 'NFKD' }, { type: 'StripAccents' });
  if (lowercase) normalizers.push({ type: 'Lowercase' });
  if (spm.normalizerSpec.precompiledCharsmap.length > 0) {
    normalizers.push({ type: 'Precompiled', precompiled_charsmap: Buffer.from(spm.normalizerSpec.precompiledCharsmap).toString('base64') });
  }
  normalizers.push({ type: 'Replace', pattern: { Regex: ' {2,}' }, content: ' ' });

  const special = specials(settings, {
    bos_token: tok('[CLS]'),
    eos_token: tok('[SEP]'),
    unk_token: tok('<unk>'),
    sep_token: tok('[SEP]'),
    pad_token: tok('<pad>'),
    cls_token: tok('[CLS]'),
    mask_token: tok('[MASK]', { lstrip: true }),
  });
  // SentencePiece control symbols ([CLS], [SEP], <pad>...) become special added tokens.
  // User-defined symbols stay in the Unigram vocabulary only (their score 0 makes Viterbi always
  // pick them whole, as sentencepiece does). Recent transformers versions also register them as
  // added tokens; the fast tokenizer then splits the text at each one and prepends "▁" to the
  // next segment, which differs from sentencepiece and from the slow AlbertTokenizer
  // ("(SPACE.com)" -> "( ▁space . ▁ com )" instead of "( s p a ce . com )"). We follow
  // sentencepiece, the tokenization ALBERT was trained with.
  const spmAdded = pieces
    .map((p, id) => ({ p, id }))
    .filter(({ p }) => p.type === PIECE_TYPES.CONTROL)
    .map(({ p, id }) => ({ id, token: tok(p.piece, { normalized: false }), special: true }));

  const metaspace = { type: 'Metaspace', replacement: '\u2581', prepend_scheme: prependScheme, split: true };
  const tokenizer: JsonObject = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens(dir, settings, special, idOf, false, spmAdded),
    normalizer: { type: 'Sequence', normalizers },
    pre_tokenizer: metaspace,
    post_processor: templateProcessing('[CLS]', requireId(idOf, '[CLS]', file), '[SEP]', requireId(idOf, '[SEP]', file)),
    decoder: { ...metaspace },
    model: {
      type: 'Unigram',
      unk_id: spm.trainerSpec.unkId,
      vocab: pieces.map((p) => [p.piece, checkNumberComma(p.piece) ? p.score : p.score - 100]),
      byte_fallback: false,
    },
  };
  return { tokenizer, source: 'spiece.model', warnings };
}

export function albertTokenizerJson(dir: string, config: JsonObject): ConvertedTokenizer {
  const file = path.join(dir, 'spiece.model');
  let spm: SentencePieceModel;
  try {
    spm = parseSentencePieceModel(fs.readFileSync(file));
  } catch (err) {
    if (err instanceof ProtobufError || err instanceof TypeError) {
      throw new AppError('io', `${file}: is not a valid SentencePiece model (${err.message}); download the model again`);
    }
    throw err;
  }
  return albertTokenizerJsonFromModel(spm, file, dir, config);
}

/**
 * The tokenizer.json object for a folder without one, from vocab.txt, vocab.json + merges.txt or
 * spiece.model (chosen by the model family, then by which files exist). `config` is
 * tokenizer_config.json's content ({} when absent).
 */
export async function convertTokenizer(dir: string, modelType: string, config: JsonObject): Promise<ConvertedTokenizer> {
  const detected = detectTokenizerSource(dir, modelType);
  if (!detected || detected.source === 'tokenizer.json') {
    if (detected?.source === 'tokenizer.json') throw new AppError('internal', `${dir}: has a tokenizer.json; it needs no conversion`);
    throw new AppError('not_found', `${dir}: no tokenizer: expected tokenizer.json, vocab.txt, vocab.json + merges.txt or spiece.model. Copy the tokenizer files of the base model into the folder.`);
  }
  let converted: ConvertedTokenizer;
  switch (detected.source) {
    case 'vocab.txt':
      converted = bertTokenizerJson(dir, config);
      break;
    case 'vocab.json+merges.txt':
      converted = robertaTokenizerJson(dir, config);
      break;
    case 'spiece.model':
      converted = albertTokenizerJson(dir, config);
      break;
  }
  const expected = isModelFamily(modelType) ? FAMILIES[modelType].tokenizer.source : undefined;
  if (expected && expected !== detected.source) {
    converted.warnings.push(`a ${modelType} model usually ships ${expected}; this folder has ${detected.source}, which was used`);
  }
  return converted;
}
