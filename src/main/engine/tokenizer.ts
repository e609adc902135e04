/**
 * Tokenisation with @huggingface/transformers (local files only), truncated the way Python
 * transformers truncates: the text is cut, then the special tokens are added, so a truncated
 * row still ends with [SEP] / </s> (transformers.js cuts the finished sequence instead).
 */
import type { JsonObject } from '../../shared/json';
import { FAMILIES, isModelFamily } from '../../shared/model-families';
import { folderModelType, readTokenizerFiles, type TokenizerFiles } from '../hf/tokenizer-files';
import { ownValue } from '../../shared/own';

export { readTokenizerFiles, type TokenizerFiles } from '../hf/tokenizer-files';

export interface Encoded {
  ids: number[];
  typeIds: number[];
}

/** The parts of a transformers.js tokenizer this module uses. */
interface JsTokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): number[];
  decode(ids: number[], options?: { skip_special_tokens?: boolean }): string;
  convert_tokens_to_ids(token: string): number | undefined;
  get_vocab?(): Map<string, number> | Record<string, number>;
  pad_token_id?: number | null;
}

/** How the special tokens wrap one text or a pair (BERT template or RoBERTa's). */
interface SpecialLayout {
  cls: number;
  sep: number;
  /** RoBERTa puts </s></s> between a pair and uses type id 0 throughout. */
  doubleSepBetweenPair: boolean;
  pairTypeIds: boolean;
}

export class TextTokenizer {
  readonly padId: number;
  readonly vocabSize: number;

  constructor(
    private readonly tok: JsTokenizer,
    private readonly layout: SpecialLayout,
    readonly files: TokenizerFiles,
    padId: number,
    vocabSize: number,
  ) {
    this.padId = padId;
    this.vocabSize = vocabSize;
  }

  /** Content ids of a text, without special tokens. */
  contentIds(text: string): number[] {
    return this.tok.encode(text, { add_special_tokens: false });
  }

  /** Number of special tokens added to one text (2) or a pair (3 for BERT, 4 for RoBERTa). */
  specialCount(pair: boolean): number {
    if (!pair) return 2;
    return this.layout.doubleSepBetweenPair ? 4 : 3;
  }

  /** Length of the full encoding without truncation (what the data doctor histograms). */
  countTokens(text: string, pair?: string): number {
    return this.contentIds(text).length + (pair === undefined ? 0 : this.contentIds(pair).length) + this.specialCount(pair !== undefined);
  }

  /**
   * Encodes a text (or pair) with special tokens, truncated to maxLength like Python's
   * `truncation=True` (longest_first for pairs), keeping the final separator.
   */
  encode(text: string, maxLength: number, pair?: string): Encoded {
    const a = this.contentIds(text);
    const b = pair === undefined ? null : this.contentIds(pair);
    return this.build(a, b, maxLength);
  }

  /** Builds the model input from content ids (used after caching content ids). */
  build(aIn: readonly number[], bIn: readonly number[] | null, maxLength: number): Encoded {
    const budget = Math.max(0, maxLength - this.specialCount(bIn !== null));
    let a = aIn.slice();
    const b = bIn ? bIn.slice() : null;
    if (b === null) {
      if (a.length > budget) a = a.slice(0, budget);
    } else {
      // longest_first: drop one token at a time from the longer sequence (a first on ties).
      let over = a.length + b.length - budget;
      while (over > 0) {
        if (a.length > b.length) a.pop();
        else b.pop();
        over--;
      }
    }
    const { cls, sep } = this.layout;
    const ids = [cls, ...a, sep];
    const typeIds = new Array<number>(ids.length).fill(0);
    if (b !== null) {
      const tail = this.layout.doubleSepBetweenPair ? [sep, ...b, sep] : [...b, sep];
      ids.push(...tail);
      typeIds.push(...new Array<number>(tail.length).fill(this.layout.pairTypeIds ? 1 : 0));
    }
    return { ids, typeIds };
  }

  decode(ids: number[]): string {
    return this.tok.decode(ids, { skip_special_tokens: true });
  }
}

/** The special-token layout from tokenizer.json's post_processor. */
function layoutFrom(tokenizer: JsonObject, tok: JsTokenizer, modelType: string): SpecialLayout {
  const pp = tokenizer.post_processor as JsonObject | null | undefined;
  const idOf = (t: string): number => {
    const id = tok.convert_tokens_to_ids(t);
    if (id === undefined || id === null) throw new Error(`the tokenizer has no token ${t}`);
    return id;
  };
  if (pp && pp.type === 'RobertaProcessing') {
    const cls = pp.cls as [string, number];
    const sep = pp.sep as [string, number];
    return { cls: cls[1], sep: sep[1], doubleSepBetweenPair: true, pairTypeIds: false };
  }
  if (pp && pp.type === 'TemplateProcessing') {
    const single = pp.single as JsonObject[];
    const special = pp.special_tokens as Record<string, { ids: number[] }>;
    const specials = single.filter((p) => 'SpecialToken' in p).map((p) => (p.SpecialToken as JsonObject).id as string);
    if (specials.length !== 2) throw new Error('unsupported post_processor template (expected [CLS] A [SEP])');
    const pair = pp.pair as JsonObject[] | undefined;
    const pairTypeIds = !!pair?.some((p) => 'Sequence' in p && (p.Sequence as JsonObject).type_id === 1);
    return { cls: special[specials[0]!]!.ids[0]!, sep: special[specials[1]!]!.ids[0]!, doubleSepBetweenPair: false, pairTypeIds };
  }
  // No post_processor: the family's template (BERT's when the family is unknown).
  const { specialTokens, robertaPairs } = FAMILIES[isModelFamily(modelType) ? modelType : 'bert'].tokenizer;
  return { cls: idOf(specialTokens.cls_token), sep: idOf(specialTokens.sep_token), doubleSepBetweenPair: robertaPairs, pairTypeIds: !robertaPairs };
}

type TokenizerClass = new (json: JsonObject, config: JsonObject) => JsTokenizer;

let transformersModule: Promise<Record<string, unknown>> | null = null;
function transformers(): Promise<Record<string, unknown>> {
  transformersModule ??= import('@huggingface/transformers').then((m) => {
    const env = (m as unknown as { env: { allowRemoteModels: boolean; allowLocalModels: boolean } }).env;
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    return m as unknown as Record<string, unknown>;
  });
  return transformersModule;
}

export async function tokenizerFromFiles(files: TokenizerFiles, modelType: string): Promise<TextTokenizer> {
  const T = await transformers();
  const name = String(files.config.tokenizer_class ?? 'PreTrainedTokenizer').replace(/Fast$/, '');
  const Cls = (ownValue(T, name) ?? T.PreTrainedTokenizer) as TokenizerClass;
  const tok = new Cls(files.tokenizer, files.config);
  const layout = layoutFrom(files.tokenizer, tok, modelType);
  const padToken = (files.config.pad_token as string | undefined) ?? FAMILIES[isModelFamily(modelType) ? modelType : 'bert'].tokenizer.specialTokens.pad_token;
  const padId = tok.pad_token_id ?? tok.convert_tokens_to_ids(typeof padToken === 'string' ? padToken : '[PAD]') ?? 0;
  const vocab = tok.get_vocab?.();
  const vocabSize = vocab instanceof Map ? vocab.size : vocab ? Object.keys(vocab).length : 0;
  return new TextTokenizer(tok, layout, files, padId, vocabSize);
}

/** Loads the tokenizer of a model folder (local files only). */
export async function loadTokenizer(dir: string, modelType?: string): Promise<TextTokenizer> {
  const type = modelType || folderModelType(dir);
  return tokenizerFromFiles(await readTokenizerFiles(dir, type), type);
}
