/**
 * "Start from scratch": a small BERT with random weights and the bert-base-uncased tokenizer that
 * ships with the app (resources/tokenizers), for machines that cannot reach the Hugging Face Hub.
 * The shapes are Google's small BERTs (Turc et al. 2019, "Well-Read Students Learn Better"):
 * the same layer and width choices as google/bert_uncased_L-{2,4}_H-{128,256,512}.
 */
export const SCRATCH_SHAPES = ['tiny', 'mini', 'small'] as const;
export type ScratchShape = (typeof SCRATCH_SHAPES)[number];

export interface ScratchShapeInfo {
  label: string;
  layers: number;
  hidden: number;
  heads: number;
  /** Feed-forward width: 4 x hidden, as in every BERT. */
  intermediate: number;
  /** One line for people. */
  description: string;
}

export const SCRATCH_SHAPE_INFO: Readonly<Record<ScratchShape, ScratchShapeInfo>> = {
  tiny: { label: 'Tiny (2 layers × 128)', layers: 2, hidden: 128, heads: 2, intermediate: 512, description: 'Fastest; a first check that training works.' },
  mini: { label: 'Mini (4 layers × 256)', layers: 4, hidden: 256, heads: 4, intermediate: 1024, description: 'A good balance of speed and accuracy.' },
  small: { label: 'Small (4 layers × 512)', layers: 4, hidden: 512, heads: 8, intermediate: 2048, description: 'Slower; can do better with many rows.' },
};

/** What createScratchModel made (or found already made). */
export interface ScratchModel {
  /** The model folder, absolute (<data folder>/models/scratch-<shape>). */
  dir: string;
  shape: ScratchShape;
  /** Encoder and head parameters. */
  parameters: number;
  modelStart: 'scratch';
}

/** The file in a model folder that says it was created from scratch by the app. */
export const MODEL_START_FILE = 'finetune-studio.json';

/** One folder of a folder listing (the browser host's folder picker). */
export interface FolderEntry {
  name: string;
  path: string;
  /** config.json is present: it looks like a model folder. */
  isModel: boolean;
}

export interface FolderListing {
  /** The listed folder, absolute and resolved. */
  path: string;
  /** Its parent, or null at one of the roots (the picker does not go above them). */
  parent: string | null;
  /** The folders the picker may show: the user's home and the app's data folder. */
  roots: string[];
  /** Whether the listed folder itself has config.json. */
  isModel: boolean;
  /** Subfolders, hidden ones left out, sorted by name. */
  folders: FolderEntry[];
}
