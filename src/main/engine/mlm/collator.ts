/**
 * The masking rule of transformers' DataCollatorForLanguageModeling (mlm=True), with the engine's
 * seeded RNG. transformers draws four arrays over EVERY position of the [B, T] batch, in this
 * order, and a Bernoulli(p) draw is `u < p`:
 *
 *   selected  = (u_select < mlm_probability) & !special        special tokens and padding never
 *   labels    = selected ? original id : -100
 *   to_mask   = selected & (u_replace < mask_replace_prob)                       -> [MASK]
 *   to_random = selected & !to_mask & (u_random < random_replace_prob / (1 - mask_replace_prob))
 *                                                                                -> random_words
 *   (random_words uniform over [0, len(tokenizer)), special ids included; the rest stays unchanged)
 *
 * applyMaskingRule takes the draws explicitly (the reference goldens feed the same draws to the
 * real collator); drawMasks makes them from an Rng. Masks are drawn anew each time a batch is
 * collated, from a seed derived from (run seed, epoch, step), so a resumed run draws the same.
 */
import type { JsonObject } from '../../../shared/json';
import type { HostBatch } from '../batch';
import { Rng } from '../rng';
import type { TextTokenizer } from '../tokenizer';

/** The label of a position that is not a target (torch's ignore_index). */
export const IGNORE_INDEX = -100;

export interface MaskingProbabilities {
  /** Share of the maskable positions that become targets (0.15). */
  mlmProbability: number;
  /** Of the targets, the share replaced by [MASK] (0.8). */
  maskReplaceProb: number;
  /** Of the targets, the share replaced by a random token (0.1); the rest is unchanged. */
  randomReplaceProb: number;
}

export const DEFAULT_MASKING: MaskingProbabilities = { mlmProbability: 0.15, maskReplaceProb: 0.8, randomReplaceProb: 0.1 };

/** The four random arrays of one batch, each of B*T entries (row-major). */
export interface MaskDraws {
  uSelect: ArrayLike<number>;
  uReplace: ArrayLike<number>;
  uRandom: ArrayLike<number>;
  randomWords: ArrayLike<number>;
}

export interface MaskedIds {
  inputIds: Int32Array;
  /** The original id at each target, -100 elsewhere. */
  labels: Int32Array;
}

export function checkProbabilities(p: MaskingProbabilities): void {
  const ok = (x: number): boolean => Number.isFinite(x) && x >= 0 && x <= 1;
  if (!ok(p.mlmProbability) || !ok(p.maskReplaceProb) || !ok(p.randomReplaceProb)) throw new RangeError('masking probabilities must lie in [0, 1]');
  if (p.maskReplaceProb + p.randomReplaceProb > 1) throw new RangeError('mask_replace_prob + random_replace_prob must not exceed 1');
}

/** torch_mask_tokens on explicit draws. */
export function applyMaskingRule(
  inputIds: ArrayLike<number>,
  specialTokensMask: ArrayLike<number>,
  draws: MaskDraws,
  maskTokenId: number,
  probs: MaskingProbabilities = DEFAULT_MASKING,
): MaskedIds {
  checkProbabilities(probs);
  const n = inputIds.length;
  for (const [name, a] of [
    ['special_tokens_mask', specialTokensMask],
    ['u_select', draws.uSelect],
    ['u_replace', draws.uReplace],
    ['u_random', draws.uRandom],
    ['random_words', draws.randomWords],
  ] as const) {
    if (a.length !== n) throw new RangeError(`${name} has ${a.length} entries, input_ids ${n}`);
  }
  const out = Int32Array.from(inputIds);
  const labels = new Int32Array(n).fill(IGNORE_INDEX);
  const randomStep = probs.maskReplaceProb !== 1 && probs.randomReplaceProb !== 0;
  const randomP = randomStep ? probs.randomReplaceProb / (1 - probs.maskReplaceProb) : 0;
  for (let i = 0; i < n; i++) {
    if (specialTokensMask[i] || !(draws.uSelect[i]! < probs.mlmProbability)) continue;
    labels[i] = inputIds[i]!;
    if (draws.uReplace[i]! < probs.maskReplaceProb) out[i] = maskTokenId;
    else if (randomStep && draws.uRandom[i]! < randomP) out[i] = draws.randomWords[i]!;
  }
  return { inputIds: out, labels };
}

/** The draws of one batch of n positions, in transformers' order (all u_select, u_replace, u_random, then the words). */
export function drawMasks(rng: Rng, n: number, randomVocabSize: number): MaskDraws {
  const uSelect = new Float64Array(n);
  const uReplace = new Float64Array(n);
  const uRandom = new Float64Array(n);
  const randomWords = new Int32Array(n);
  for (let i = 0; i < n; i++) uSelect[i] = rng.next();
  for (let i = 0; i < n; i++) uReplace[i] = rng.next();
  for (let i = 0; i < n; i++) uRandom[i] = rng.next();
  for (let i = 0; i < n; i++) randomWords[i] = rng.int(randomVocabSize);
  return { uSelect, uReplace, uRandom, randomWords };
}

/** What the collator needs from the tokenizer. */
export interface MlmVocabulary {
  maskTokenId: number;
  padId: number;
  /** len(tokenizer), capped at the model's vocabulary: random replacements are drawn from [0, this). */
  randomVocabSize: number;
}

function tokenContent(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as JsonObject).content === 'string') return (v as JsonObject).content as string;
  return null;
}

export class MaskTokenError extends Error {
  readonly code = 'no_mask_token';
  constructor(message: string) {
    super(message);
    this.name = 'MaskTokenError';
  }
}

/** The mask token id from the tokenizer files (tokenizer_config's mask_token, found in tokenizer.json). */
export function mlmVocabulary(tokenizer: TextTokenizer, modelVocabSize: number): MlmVocabulary {
  const files = tokenizer.files;
  const maskToken = tokenContent(files.config.mask_token) ?? null;
  const added = (files.tokenizer.added_tokens as JsonObject[] | undefined) ?? [];
  const candidates = maskToken ? [maskToken] : ['[MASK]', '<mask>'];
  let id: number | undefined;
  for (const c of candidates) {
    const hit = added.find((t) => t.content === c);
    if (hit && typeof hit.id === 'number') id = hit.id;
    if (id === undefined) {
      const vocab = (files.tokenizer.model as JsonObject | undefined)?.vocab;
      if (vocab && !Array.isArray(vocab) && typeof vocab === 'object' && typeof (vocab as JsonObject)[c] === 'number') id = (vocab as JsonObject)[c] as number;
    }
    if (id !== undefined) break;
  }
  if (id === undefined) throw new MaskTokenError(`the tokenizer has no mask token (${candidates.join(' or ')}); masked-LM training needs one`);
  const len = tokenizer.vocabSize > 0 ? tokenizer.vocabSize : modelVocabSize;
  return { maskTokenId: id, padId: tokenizer.padId, randomVocabSize: Math.min(len, modelVocabSize) };
}

/** One tokenised text with the mask of the special tokens the post-processor added ([CLS], [SEP]). */
export interface MlmRow {
  ids: number[];
  specialTokensMask: number[];
}

/** Tokenises a text as run_mlm.py does (line by line, truncation keeping the final separator). */
export function encodeForMlm(tokenizer: TextTokenizer, text: string, maxLength: number): MlmRow {
  const { ids } = tokenizer.encode(text, maxLength);
  const specialTokensMask = ids.map((_, i) => (i === 0 || i === ids.length - 1 ? 1 : 0));
  return { ids, specialTokensMask };
}

export interface CollatedMlmBatch {
  /** Padded, masked ids, the attention mask (1 on real tokens) and zero token types. */
  host: HostBatch;
  /** [B*T]: original id at the targets, -100 elsewhere (padding and special tokens included). */
  labels: Int32Array;
  /** The unmasked ids, padded ([B*T]). */
  originalIds: Int32Array;
  /** [B*T]: 1 at special tokens and padding. */
  specialTokensMask: Int32Array;
}

/** Pads rows (padding marked special, as tokenizer.pad does) and applies the masking rule with draws from rng. */
export function collateMlm(rows: readonly MlmRow[], vocab: MlmVocabulary, rng: Rng, probs: MaskingProbabilities = DEFAULT_MASKING): CollatedMlmBatch {
  const batchSize = rows.length;
  const seqLen = rows.reduce((m, r) => Math.max(m, r.ids.length), 0);
  const n = batchSize * seqLen;
  const originalIds = new Int32Array(n).fill(vocab.padId);
  const attentionMask = new Int32Array(n);
  const special = new Int32Array(n).fill(1);
  rows.forEach((r, b) => {
    for (let t = 0; t < r.ids.length; t++) {
      originalIds[b * seqLen + t] = r.ids[t]!;
      attentionMask[b * seqLen + t] = 1;
      special[b * seqLen + t] = r.specialTokensMask[t] ? 1 : 0;
    }
  });
  const { inputIds, labels } = applyMaskingRule(originalIds, special, drawMasks(rng, n, vocab.randomVocabSize), vocab.maskTokenId, probs);
  return { host: { batchSize, seqLen, inputIds, attentionMask, tokenTypeIds: new Int32Array(n) }, labels, originalIds, specialTokensMask: special };
}
