/**
 * The models the app suggests. Parameter counts and relative training cost are computed from each
 * model's architecture (its public config.json); download sizes are the Hub's file listing
 * (rounded as the Hub shows them); AG News accuracies are quoted from public model cards, with
 * the card's URL, and are null ("not reported") where no card states one. Any other Hub id
 * works too; the catalog is only a shortlist.
 */
import { encoderParameters, type Architecture } from '../../shared/model-families';
import type { CatalogModel, ReportedAccuracy } from '../../shared/models';
import { findCachedSnapshot, hubCacheDir } from './cache';

export type { Architecture } from '../../shared/model-families';

interface CatalogSeed {
  id: string;
  label: string;
  description: string;
  arch: Architecture;
  /** Weights + tokenizer + config, as listed on the Hub (MB/kB precision). */
  downloadBytes: number;
  agNewsAccuracy: ReportedAccuracy | null;
}

const BERT_BASE: Architecture = { family: 'bert', layers: 12, hidden: 768, intermediate: 3072, heads: 12, vocab: 30522, positions: 512, typeVocab: 2 };
const smallBert = (layers: number, hidden: number, heads: number): Architecture => ({ family: 'bert', layers, hidden, intermediate: 4 * hidden, heads, vocab: 30522, positions: 512, typeVocab: 2 });

const textAttack = (model: string, value: number, recipe: string): ReportedAccuracy => ({
  value,
  source: `https://huggingface.co/textattack/${model}-ag-news`,
  note: `TextAttack's fine-tune of ${model} on AG News (${recipe}, max length 128); the card's best accuracy on the 7,600-text test set`,
});

const SEEDS: CatalogSeed[] = [
  {
    id: 'bert-base-uncased',
    label: 'BERT base (uncased)',
    description: 'The classic: strong accuracy, slow on a CPU. English, lowercased.',
    arch: BERT_BASE,
    downloadBytes: 440_000_000 + 466_000 + 232_000 + 1_000,
    agNewsAccuracy: textAttack('bert-base-uncased', 0.9514473684210526, '5 epochs, batch 16, lr 3e-5'),
  },
  {
    id: 'roberta-base',
    label: 'RoBERTa base',
    description: 'BERT trained longer on more text; the reference recipe for AG News. Case-sensitive.',
    arch: { family: 'roberta', layers: 12, hidden: 768, intermediate: 3072, heads: 12, vocab: 50265, positions: 514, typeVocab: 1 },
    downloadBytes: 499_000_000 + 1_360_000 + 899_000 + 456_000 + 1_000,
    agNewsAccuracy: textAttack('roberta-base', 0.9469736842105263, '5 epochs, batch 16, lr 5e-5'),
  },
  {
    id: 'distilbert-base-uncased',
    label: 'DistilBERT base (uncased)',
    description: 'Half the layers of BERT base: about twice as fast, a little less accurate.',
    arch: { family: 'distilbert', layers: 6, hidden: 768, intermediate: 3072, heads: 12, vocab: 30522, positions: 512, typeVocab: 0 },
    downloadBytes: 268_000_000 + 466_000 + 232_000 + 1_000,
    agNewsAccuracy: textAttack('distilbert-base-uncased', 0.9478947368421052, '5 epochs, batch 32, lr 2e-5'),
  },
  {
    id: 'albert-base-v2',
    label: 'ALBERT base v2',
    description: 'One layer shared twelve times: a small download, but as slow to train as BERT base.',
    arch: { family: 'albert', layers: 12, hidden: 768, intermediate: 3072, heads: 12, vocab: 30000, positions: 512, typeVocab: 2, embedding: 128, sharedLayers: true },
    downloadBytes: 47_400_000 + 1_310_000 + 760_000 + 1_000,
    agNewsAccuracy: textAttack('albert-base-v2', 0.9471052631578948, '5 epochs, batch 16, lr 2e-5'),
  },
  {
    id: 'google/bert_uncased_L-2_H-128_A-2',
    label: 'BERT tiny (2 layers, 128 wide)',
    description: 'The smallest Google BERT: trains in minutes on a CPU; good for trying things out.',
    arch: smallBert(2, 128, 2),
    downloadBytes: 17_700_000 + 232_000 + 1_000,
    agNewsAccuracy: null,
  },
  {
    id: 'google/bert_uncased_L-4_H-256_A-4',
    label: 'BERT mini (4 layers, 256 wide)',
    description: 'A small Google BERT: fast on a CPU with fair accuracy.',
    arch: smallBert(4, 256, 4),
    downloadBytes: 45_100_000 + 232_000 + 1_000,
    agNewsAccuracy: null,
  },
  {
    id: 'google/bert_uncased_L-4_H-512_A-8',
    label: 'BERT small (4 layers, 512 wide)',
    description: 'A mid-size Google BERT: a good CPU compromise between speed and accuracy.',
    arch: smallBert(4, 512, 8),
    downloadBytes: 116_000_000 + 232_000 + 1_000,
    agNewsAccuracy: null,
  },
];

/** Parameters of the pre-trained encoder (the registry's formula, per family). */
export { encoderParameters } from '../../shared/model-families';

/** Multiply-accumulates per token of one forward pass through the layers (sequence length 128). */
function macsPerToken(a: Architecture, seqLen = 128): number {
  const H = a.hidden;
  const perLayer = 4 * H * H + 2 * H * a.intermediate + 2 * seqLen * H;
  const projection = a.embedding !== undefined && a.embedding !== H ? a.embedding * H : 0;
  return a.layers * perLayer + projection;
}

/** Training compute per example relative to bert-base-uncased, rounded to 3 significant digits. */
export function relativeCost(a: Architecture): number {
  return Number((macsPerToken(a) / macsPerToken(BERT_BASE)).toPrecision(3));
}

export const CATALOG_IDS: readonly string[] = SEEDS.map((s) => s.id);

export interface ListModelsOptions {
  cacheDir?: string;
  env?: NodeJS.ProcessEnv;
}

/** The catalog, with whether each model is in the local Hugging Face cache (at its main branch). */
export function listCatalogModels(options: ListModelsOptions = {}): CatalogModel[] {
  const cacheDir = options.cacheDir ?? hubCacheDir(options.env);
  return SEEDS.map((s) => {
    const cached = findCachedSnapshot(cacheDir, s.id, 'main');
    return {
      id: s.id,
      family: s.arch.family,
      label: s.label,
      description: s.description,
      parameters: encoderParameters(s.arch),
      downloadBytes: s.downloadBytes,
      relativeCost: relativeCost(s.arch),
      agNewsAccuracy: s.agNewsAccuracy,
      cached: cached !== null,
      localPath: cached?.dir ?? null,
    };
  });
}

export function catalogArchitecture(id: string): Architecture | null {
  return SEEDS.find((s) => s.id === id)?.arch ?? null;
}
