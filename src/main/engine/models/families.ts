/**
 * The engine's half of the model-family registry (src/shared/model-families.ts holds the records):
 * the class that builds each family's classifier. Typed Record<ModelFamily, ...>, so adding a
 * record there fails to compile until its constructor is named here (see the checklist there).
 */
import { FAMILIES, type ModelFamily } from '../../../shared/model-families';
import type { ModelConfig } from '../../hf/config';
import { AlbertForSequenceClassification } from './albert';
import type { SequenceClassifier } from './base';
import { BertForSequenceClassification } from './bert';
import { DistilBertForSequenceClassification } from './distilbert';
import { RobertaForSequenceClassification } from './roberta';

export type ModelConstructor = new (config: ModelConfig) => SequenceClassifier;

export const MODEL_CONSTRUCTORS: Record<ModelFamily, ModelConstructor> = {
  bert: BertForSequenceClassification,
  roberta: RobertaForSequenceClassification,
  distilbert: DistilBertForSequenceClassification,
  albert: AlbertForSequenceClassification,
};

/** transformers' class name of each family (config.json's architectures). */
export const ARCHITECTURES = Object.fromEntries(Object.entries(FAMILIES).map(([f, spec]) => [f, spec.architecture])) as Record<ModelFamily, string>;
