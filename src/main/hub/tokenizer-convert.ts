/**
 * Builds a tokenizer.json for folders that ship only the slow-tokenizer files:
 * vocab.txt (BERT WordPiece), vocab.json + merges.txt (RoBERTa BPE), spiece.model (ALBERT).
 */
import type { JsonObject } from '../../shared/json';
import { AppError } from '../../shared/errors';

export interface ConvertedTokenizer {
  tokenizer: JsonObject;
  source: string;
}

export async function convertTokenizer(dir: string, _modelType: string, _config: JsonObject): Promise<ConvertedTokenizer> {
  throw new AppError('unsupported', `${dir} has no tokenizer.json; converting vocab.txt, vocab.json + merges.txt or spiece.model is not available yet.`);
}
