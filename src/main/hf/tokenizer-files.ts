/**
 * The tokenizer files of a model folder: tokenizer.json (or one converted from the family's slow
 * files: vocab.txt, vocab.json + merges.txt, spiece.model) and tokenizer_config.json, filled with
 * the special tokens the Python tokenizer class defaults to (from the family registry).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { JsonObject } from '../../shared/json';
import { familyOfTokenizerClass, FAMILIES, isModelFamily } from '../../shared/model-families';

export interface TokenizerFiles {
  /** tokenizer.json content. */
  tokenizer: JsonObject;
  /** tokenizer_config.json content (filled with the class defaults when the file is missing). */
  config: JsonObject;
  /** Where the tokenizer came from: tokenizer.json or a file converted to it. */
  source: string;
}

export function readJson(file: string): JsonObject {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as JsonObject;
}

/** Special tokens of a tokenizer class, as the Python class defaults them ({} for a class no family uses). */
function defaultSpecialTokens(className: string): JsonObject {
  const family = familyOfTokenizerClass(className);
  return family ? { ...FAMILIES[family].tokenizer.specialTokens } : {};
}

/**
 * Reads the tokenizer files of a model folder. tokenizer.json is used when present; otherwise
 * the converters (tokenizer-convert.ts) build it from vocab.txt, vocab.json + merges.txt or spiece.model.
 */
export async function readTokenizerFiles(dir: string, modelType: string): Promise<TokenizerFiles> {
  const tokenizerFile = path.join(dir, 'tokenizer.json');
  const configFile = path.join(dir, 'tokenizer_config.json');
  let tokenizer: JsonObject;
  let source = 'tokenizer.json';
  let config: JsonObject = fs.existsSync(configFile) ? readJson(configFile) : {};
  if (fs.existsSync(tokenizerFile)) {
    tokenizer = readJson(tokenizerFile);
  } else {
    const { convertTokenizer } = await import('./tokenizer-convert');
    const converted = await convertTokenizer(dir, modelType, config);
    tokenizer = converted.tokenizer;
    source = converted.source;
  }
  const cls = (config.tokenizer_class as string | undefined) ?? (isModelFamily(modelType) ? FAMILIES[modelType].tokenizer.className : 'PreTrainedTokenizer');
  config = { ...defaultSpecialTokens(cls), tokenizer_class: cls, ...config };
  return { tokenizer, config, source };
}

/** config.json's model_type of a folder ('bert' when the file or the field is absent). */
export function folderModelType(dir: string): string {
  const configFile = path.join(dir, 'config.json');
  return fs.existsSync(configFile) ? String(readJson(configFile).model_type ?? 'bert') : 'bert';
}
