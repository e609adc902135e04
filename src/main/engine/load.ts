/** Loading a model folder: config.json, weights in any format hf/ reads, tokenizer. */
import { readModelConfig, withLabels, type ModelConfig } from '../hf/config';
import { createModel, loadWeights, type LoadReport, type SequenceClassifier } from './models/index';
import { loadTokenizer, type TextTokenizer } from './tokenizer';
import { readModelWeights } from '../hf/weights';

export interface LoadedModel {
  model: SequenceClassifier;
  tokenizer: TextTokenizer;
  report: LoadReport;
  weightsFormat: string;
}

export interface LoadModelOptions {
  /** Labels of the task; when they differ from config.json's, the head is new. */
  labels?: readonly string[];
  seed?: number;
}

export async function loadModelFolder(dir: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  let config: ModelConfig = readModelConfig(dir);
  const labelsChanged =
    options.labels !== undefined &&
    (options.labels.length !== config.numLabels || options.labels.some((l, i) => l !== config.id2label[i]));
  if (options.labels) config = withLabels(config, options.labels);
  const { weights, format } = readModelWeights(dir);
  const model = createModel(config);
  let report: LoadReport;
  try {
    report = loadWeights(model, weights, { seed: options.seed ?? 42, reinitialiseMismatchedHead: labelsChanged, source: dir });
  } catch (err) {
    model.store.dispose();
    throw err;
  }
  const tokenizer = await loadTokenizer(dir, config.modelType);
  return { model, tokenizer, report, weightsFormat: format };
}
