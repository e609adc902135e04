/**
 * The model-family registry: one record per family the engine trains (config.json's model_type),
 * and everything else reads it: the list of families (shared/models.ts), config.json parsing
 * (hf/config.ts), the tokenizer defaults and conversions (hf/tokenizer-files.ts,
 * hf/tokenizer-convert.ts), the special-token layout (engine/tokenizer.ts), position ids
 * (engine/batch.ts), the architecture names and ignorable checkpoint keys (engine/models/index.ts)
 * and the catalog's parameter count (hub/catalog.ts). The small BERTs (google/bert_uncased_L-*)
 * are `bert`.
 *
 * Pure data and pure functions, importing nothing: the renderer, hf/, hub/ and engine/ all read
 * it. The one part that cannot live here, the class that builds the model, is the constructor
 * table in src/main/engine/models/families.ts (typed Record<ModelFamily, ...>, so the compiler
 * points at it when a family is added here).
 *
 * Adding a family (ELECTRA, say):
 *   1. Write src/main/engine/models/electra.ts: the `ElectraForSequenceClassification` class
 *      (a SequenceClassifier; parameter names as transformers' state_dict names them, under the
 *      base prefix below). Reuse layers.ts / base.ts blocks (WordPositionTypeEmbeddings...).
 *   2. Add one record `electra: { ... }` to FAMILIES below: architecture name, base prefix,
 *      tokenizer class / source file / special tokens, the config reader (ELECTRA: BERT's field
 *      names plus `embedding_size`, projected to hidden_size like ALBERT), the checkpoint keys
 *      to ignore (`^discriminator_predictions\.`, `^generator_`), whether it has a pooler (no).
 *   3. Add `electra: ElectraForSequenceClassification` to MODEL_CONSTRUCTORS in
 *      engine/models/families.ts (tsc fails until you do).
 *   4. Tests: a golden folder under ../shared/reference for test/engine/forward.test.ts and
 *      train-step.test.ts (the reference scripts write one per family), and a tokenizer golden.
 * Nothing else names a family: MODEL_FAMILIES, the import report, config parsing, the tokenizer
 * defaults and conversions, saving (config.json's architectures) all follow the record.
 */

/** Tokenizer files a family ships (where a folder without tokenizer.json converts from). */
export type FamilyTokenizerSource = 'vocab.txt' | 'vocab.json+merges.txt' | 'spiece.model';

/** The special tokens a Python tokenizer class defaults to (tokenizer_config.json may override them). */
export interface SpecialTokens {
  bos_token?: string;
  eos_token?: string;
  sep_token: string;
  cls_token: string;
  unk_token: string;
  pad_token: string;
  mask_token: string;
}

/** Reads config.json fields for a family's config reader; errors name the file and the field. */
export interface ConfigFieldReader {
  /** A number field; without a fallback a missing field is an error. */
  num(key: string, fallback?: number): number;
  /** The raw value (undefined when absent), for fields the reader interprets itself. */
  raw(key: string): unknown;
}

/** The family-specific part of a normalised config (field names differ between families). */
export interface FamilyConfigFields {
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  intermediateSize: number;
  /** The activation's name as config.json gives it (validated by hf/config.ts). */
  activation: string;
  hiddenDropout: number;
  attentionDropout: number;
  /** Dropout before the classifier (classifier_dropout, seq_classif_dropout...). */
  classifierDropout: number;
  typeVocabSize: number;
  layerNormEps: number;
  /** ALBERT's factorised embedding width; hiddenSize elsewhere. */
  embeddingSize: number;
  numHiddenGroups: number;
  innerGroupNum: number;
}

export interface ModelFamilySpec {
  /** For people: "DistilBERT". */
  label: string;
  /** transformers' *ForSequenceClassification class (config.json's architectures). */
  architecture: string;
  /** Checkpoint prefix of the base model's parameters ("bert.embeddings..."). */
  basePrefix: string;
  tokenizer: {
    /** The Python tokenizer class (tokenizer_config.json's tokenizer_class when it has none). */
    className: string;
    /** The slow-tokenizer files the family ships. */
    source: FamilyTokenizerSource;
    specialTokens: SpecialTokens;
    /** RoBERTa's pair template: <s> A </s></s> B </s>, type id 0 throughout (else [CLS] A [SEP] B [SEP], type ids 0/1). */
    robertaPairs: boolean;
  };
  /** pad_token_id when config.json has none. */
  defaultPadTokenId: number;
  /** Position ids start after the padding id (RoBERTa: max length = positions - pad - 1). */
  positionsAfterPad: boolean;
  /** Reads the family's fields of config.json. */
  readConfig(r: ConfigFieldReader): FamilyConfigFields;
  /**
   * Checkpoint entries transformers also ignores for *ForSequenceClassification (pre-training
   * heads, other task heads, unused poolers), as regular expression sources.
   */
  ignorableKeys: readonly string[];
  /** The base model has a pooler (dense + tanh over the first token) counted in its parameters. */
  pooler: boolean;
}

/** BERT's field names (BERT, RoBERTa, ALBERT); `act` is the activation when hidden_act is absent. */
function readBertStyle(r: ConfigFieldReader, act: string, classifierDropout: (hiddenDropout: number) => number): FamilyConfigFields {
  const hiddenSize = r.num('hidden_size');
  const numHiddenLayers = r.num('num_hidden_layers');
  const numAttentionHeads = r.num('num_attention_heads');
  const intermediateSize = r.num('intermediate_size');
  const activation = String(r.raw('hidden_act') ?? act);
  const hiddenDropout = r.num('hidden_dropout_prob', 0.1);
  return {
    hiddenSize,
    numHiddenLayers,
    numAttentionHeads,
    intermediateSize,
    activation,
    hiddenDropout,
    attentionDropout: r.num('attention_probs_dropout_prob', 0.1),
    classifierDropout: classifierDropout(hiddenDropout),
    typeVocabSize: r.num('type_vocab_size', 2),
    layerNormEps: r.num('layer_norm_eps', 1e-12),
    embeddingSize: hiddenSize,
    numHiddenGroups: 1,
    innerGroupNum: 1,
  };
}

/** classifier_dropout when it is a number, else the hidden dropout (BertForSequenceClassification). */
function bertClassifierDropout(r: ConfigFieldReader): (hiddenDropout: number) => number {
  return (hiddenDropout) => {
    const v = r.raw('classifier_dropout');
    return typeof v === 'number' ? v : hiddenDropout;
  };
}

const BERT_SPECIALS: SpecialTokens = { sep_token: '[SEP]', cls_token: '[CLS]', unk_token: '[UNK]', pad_token: '[PAD]', mask_token: '[MASK]' };

/** Every checkpoint has these buffers; transformers ignores them on load. */
export const COMMON_IGNORABLE_KEYS: readonly string[] = ['(^|\\.)position_ids$', '(^|\\.)token_type_ids$', '^qa_outputs\\.'];

export const FAMILIES = {
  bert: {
    label: 'BERT',
    architecture: 'BertForSequenceClassification',
    basePrefix: 'bert',
    tokenizer: { className: 'BertTokenizer', source: 'vocab.txt', specialTokens: BERT_SPECIALS, robertaPairs: false },
    defaultPadTokenId: 0,
    positionsAfterPad: false,
    readConfig: (r) => readBertStyle(r, 'gelu', bertClassifierDropout(r)),
    ignorableKeys: ['^cls\\.'],
    pooler: true,
  },
  roberta: {
    label: 'RoBERTa',
    architecture: 'RobertaForSequenceClassification',
    basePrefix: 'roberta',
    tokenizer: {
      className: 'RobertaTokenizer',
      source: 'vocab.json+merges.txt',
      specialTokens: { bos_token: '<s>', eos_token: '</s>', sep_token: '</s>', cls_token: '<s>', unk_token: '<unk>', pad_token: '<pad>', mask_token: '<mask>' },
      robertaPairs: true,
    },
    defaultPadTokenId: 1,
    positionsAfterPad: true,
    readConfig: (r) => readBertStyle(r, 'gelu', bertClassifierDropout(r)),
    ignorableKeys: ['^lm_head\\.', '^roberta\\.pooler\\.'],
    pooler: true,
  },
  distilbert: {
    label: 'DistilBERT',
    architecture: 'DistilBertForSequenceClassification',
    basePrefix: 'distilbert',
    tokenizer: { className: 'DistilBertTokenizer', source: 'vocab.txt', specialTokens: BERT_SPECIALS, robertaPairs: false },
    defaultPadTokenId: 0,
    positionsAfterPad: false,
    // DistilBERT names its fields dim / n_layers / n_heads / hidden_dim / activation.
    readConfig: (r) => {
      const hiddenSize = r.num('dim');
      return {
        hiddenSize,
        numHiddenLayers: r.num('n_layers'),
        numAttentionHeads: r.num('n_heads'),
        intermediateSize: r.num('hidden_dim'),
        activation: String(r.raw('activation') ?? 'gelu'),
        hiddenDropout: r.num('dropout', 0.1),
        attentionDropout: r.num('attention_dropout', 0.1),
        classifierDropout: r.num('seq_classif_dropout', 0.2),
        typeVocabSize: 0,
        layerNormEps: 1e-12,
        embeddingSize: hiddenSize,
        numHiddenGroups: 1,
        innerGroupNum: 1,
      };
    },
    ignorableKeys: ['^vocab_(transform|layer_norm|projector)\\.', '^distilbert\\.pooler\\.'],
    pooler: false,
  },
  albert: {
    label: 'ALBERT',
    architecture: 'AlbertForSequenceClassification',
    basePrefix: 'albert',
    tokenizer: {
      className: 'AlbertTokenizer',
      source: 'spiece.model',
      specialTokens: { bos_token: '[CLS]', eos_token: '[SEP]', sep_token: '[SEP]', cls_token: '[CLS]', unk_token: '<unk>', pad_token: '<pad>', mask_token: '[MASK]' },
      robertaPairs: false,
    },
    defaultPadTokenId: 0,
    positionsAfterPad: false,
    readConfig: (r) => {
      const fields = readBertStyle(r, 'gelu_new', () => r.num('classifier_dropout_prob', 0.1));
      return {
        ...fields,
        embeddingSize: r.num('embedding_size', 128),
        numHiddenGroups: r.num('num_hidden_groups', 1),
        innerGroupNum: r.num('inner_group_num', 1),
      };
    },
    ignorableKeys: ['^predictions\\.', '^sop_classifier\\.'],
    pooler: true,
  },
} satisfies Record<string, ModelFamilySpec>;

export type ModelFamily = keyof typeof FAMILIES;

/** The model families the engine trains (config.json's model_type), in the registry's order. */
export const MODEL_FAMILIES = Object.keys(FAMILIES) as readonly ModelFamily[];

export function isModelFamily(value: unknown): value is ModelFamily {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(FAMILIES, value);
}

/** The record of a family. */
export function familySpec(family: ModelFamily): ModelFamilySpec {
  return FAMILIES[family];
}

/** The family whose Python tokenizer class this is (the "Fast" suffix ignored), or null. */
export function familyOfTokenizerClass(className: string): ModelFamily | null {
  const name = className.replace(/Fast$/, '');
  return MODEL_FAMILIES.find((f) => FAMILIES[f].tokenizer.className === name) ?? null;
}

/** The architecture numbers that decide size and cost (from the model's config.json). */
export interface Architecture {
  family: ModelFamily;
  layers: number;
  hidden: number;
  intermediate: number;
  heads: number;
  vocab: number;
  positions: number;
  /** Token type (segment) embeddings; 0 for DistilBERT. */
  typeVocab: number;
  /** ALBERT: factorised embedding size (projected to `hidden`). */
  embedding?: number;
  /** ALBERT: layers share one set of weights. */
  sharedLayers?: boolean;
}

/**
 * Parameters of the pre-trained encoder as the family's base model defines it (embeddings,
 * transformer layers, and the pooler where the family has one; RoBERTa's pooler is counted too,
 * as its checkpoint holds one), without a task head.
 */
export function encoderParameters(a: Architecture): number {
  const H = a.hidden;
  const E = a.embedding ?? H;
  let total = a.vocab * E + a.positions * E + a.typeVocab * E + 2 * E; // embeddings + LayerNorm
  if (a.embedding !== undefined && a.embedding !== H) total += E * H + H; // ALBERT projection
  const layer = 4 * (H * H + H) + 2 * H + (H * a.intermediate + a.intermediate) + (a.intermediate * H + H) + 2 * H;
  total += (a.sharedLayers ? 1 : a.layers) * layer;
  if (FAMILIES[a.family].pooler) total += H * H + H; // pooler
  return total;
}
