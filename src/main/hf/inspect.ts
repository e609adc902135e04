/**
 * Local import: inspects a model folder in Hugging Face layout (what save_pretrained writes, or a
 * snapshot of the Hub cache) and reports what is missing or unsupported before any training.
 * Cheap: reads config.json, the tokenizer files, and only the headers of the weights (the
 * safetensors JSON header, the pickle of a pytorch_model.bin), never the tensors.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { JsonObject } from '../../shared/json';
import { AppError } from '../../shared/errors';
import { isModelFamily } from '../../shared/model-families';
import type { ImportReport, ModelFamily } from '../../shared/models';
import { ConfigError, parseModelConfig } from './config';
import { listPytorchBinTensors } from './pytorch-bin';
import { convertTokenizer, detectTokenizerSource } from './tokenizer-convert';
import { detectWeights, OTHER_WEIGHT_FILES, type DetectedWeights } from './weights';

const SAFETENSORS_DTYPES = new Set(['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL']);
const DTYPE_BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

interface WeightNames {
  names: string[];
  dtypes: Set<string>;
}

function isLfsPointer(file: string): boolean {
  try {
    const st = fs.statSync(file);
    if (st.size > 1024) return false;
    return fs.readFileSync(file, 'latin1').startsWith('version https://git-lfs');
  } catch {
    return false;
  }
}

/** Tensor names and dtypes from a safetensors header, with the file's size checked against it. */
function safetensorsHeader(file: string): WeightNames {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const lenBuf = Buffer.alloc(8);
    if (size < 8 || fs.readSync(fd, lenBuf, 0, 8, 0) < 8) throw new AppError('io', `${path.basename(file)} is shorter than a safetensors header; copy it again`);
    const n = Number(lenBuf.readBigUInt64LE(0));
    if (n > size - 8 || n > 100_000_000) throw new AppError('io', `${path.basename(file)} is truncated or not a safetensors file (header of ${n} bytes in a ${size}-byte file); copy it again`);
    const headerBuf = Buffer.alloc(n);
    fs.readSync(fd, headerBuf, 0, n, 8);
    let header: Record<string, { dtype?: string; shape?: number[]; data_offsets?: [number, number] }>;
    try {
      header = JSON.parse(headerBuf.toString('utf8')) as typeof header;
    } catch {
      throw new AppError('io', `${path.basename(file)}: the safetensors header is not valid JSON; the file is damaged`);
    }
    const names: string[] = [];
    const dtypes = new Set<string>();
    let end = 0;
    for (const [name, e] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      names.push(name);
      if (typeof e.dtype === 'string') dtypes.add(e.dtype);
      if (Array.isArray(e.data_offsets)) end = Math.max(end, e.data_offsets[1]);
    }
    if (8 + n + end > size) {
      throw new AppError('io', `${path.basename(file)} is truncated: ${size} bytes, its header needs ${8 + n + end}; copy or download it again`);
    }
    return { names, dtypes };
  } finally {
    fs.closeSync(fd);
  }
}

function weightNames(dir: string, weights: DetectedWeights): WeightNames {
  const all: WeightNames = { names: [], dtypes: new Set() };
  for (const f of weights.files) {
    const file = path.join(dir, f);
    const part = weights.format.includes('safetensors')
      ? safetensorsHeader(file)
      : (() => {
          const list = listPytorchBinTensors(file);
          return { names: list.map((t) => t.name), dtypes: new Set(list.map((t) => t.dtype)) };
        })();
    all.names.push(...part.names);
    for (const d of part.dtypes) all.dtypes.add(d);
  }
  return all;
}

function readConfigJson(file: string): JsonObject | string {
  try {
    const v = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) return 'config.json is not a JSON object';
    return v as JsonObject;
  } catch (err) {
    return `config.json is not valid JSON (${(err as Error).message}); fix it or copy it again`;
  }
}

/** The largest token id a tokenizer.json can produce (vocabulary and added tokens). */
function tokenizerJsonMaxId(tokenizer: JsonObject): number {
  let max = -1;
  const model = tokenizer.model as JsonObject | undefined;
  const vocab = model?.vocab;
  if (Array.isArray(vocab)) max = vocab.length - 1;
  else if (vocab && typeof vocab === 'object') for (const v of Object.values(vocab)) if (typeof v === 'number' && v > max) max = v;
  for (const t of (tokenizer.added_tokens as JsonObject[] | undefined) ?? []) if (typeof t.id === 'number' && t.id > max) max = t.id;
  return max;
}

/**
 * Reports what a model folder holds and what the app can use. Never throws for a bad folder:
 * every problem is a line in `missing`, `unsupported` or `warnings` (naming the file and what
 * to do). `ok` is true when training can start from it.
 */
export async function inspectModelFolder(folder: string): Promise<ImportReport> {
  const dir = path.resolve(folder);
  const report: ImportReport = { ok: false, dir, family: null, missing: [], unsupported: [], warnings: [], weightsFormat: null, weightFiles: [], tokenizerSource: null, labels: null };
  if (!fs.existsSync(dir)) {
    report.missing.push(`${dir}: no such folder`);
    return report;
  }
  if (!fs.statSync(dir).isDirectory()) {
    report.missing.push(`${dir} is a file; give the model's folder (the one with config.json)`);
    return report;
  }

  // config.json: what the engine reads, with its own rules.
  let vocabSize: number | null = null;
  let family: ModelFamily | null = null;
  const configFile = path.join(dir, 'config.json');
  if (!fs.existsSync(configFile)) {
    report.missing.push('config.json: not found; a model folder needs it (save the model with save_pretrained, or download it again)');
  } else {
    const raw = readConfigJson(configFile);
    if (typeof raw === 'string') report.missing.push(raw);
    else {
      const mt = raw.model_type;
      if (isModelFamily(mt)) family = mt;
      try {
        const config = parseModelConfig(raw, 'config.json');
        vocabSize = config.vocabSize;
        const arch = Array.isArray(raw.architectures) && typeof raw.architectures[0] === 'string' ? raw.architectures[0] : null;
        if (arch?.endsWith('ForSequenceClassification')) {
          report.labels = config.id2label;
          report.warnings.push(`it already has a classification head for ${config.numLabels} labels (${config.id2label.slice(0, 6).join(', ')}${config.numLabels > 6 ? ', …' : ''}); training with other labels replaces that head`);
        } else if (arch) {
          report.warnings.push(`it was saved as ${arch}: ${/ForMaskedLM|ForPreTraining|Model$/.test(arch) ? 'a pre-trained model without a classification head' : 'its task head is dropped'}; a new classification head is initialised as transformers does`);
        }
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        const message = err.message.replace(/^config\.json: /, '');
        if (/is missing/.test(message)) report.missing.push(`config.json: ${message}`);
        else report.unsupported.push(`config.json: ${message}`);
      }
    }
  }
  report.family = family;

  // Weights: the preferred format, all shards present, real files (not LFS pointers), readable headers.
  let weights: DetectedWeights | null = null;
  try {
    weights = detectWeights(dir);
  } catch (err) {
    report.missing.push((err as Error).message);
  }
  if (!weights) {
    if (!report.missing.some((m) => m.includes('index'))) {
      report.missing.push('weights: none of model.safetensors, model.safetensors.index.json, pytorch_model.bin or pytorch_model.bin.index.json');
    }
  } else {
    report.weightsFormat = weights.format;
    report.weightFiles = weights.files;
    for (const m of weights.missing) report.missing.push(`${m}: listed in ${weights.entry} but not in the folder; copy it or download the model again`);
    const pointers = weights.files.filter((f) => !weights!.missing.includes(f) && isLfsPointer(path.join(dir, f)));
    for (const p of pointers) report.missing.push(`${p} is a Git LFS pointer, not the weights: run "git lfs pull" in the folder`);
    if (weights.missing.length === 0 && pointers.length === 0) {
      try {
        const { names, dtypes } = weightNames(dir, weights);
        const odd = [...dtypes].filter((d) => !SAFETENSORS_DTYPES.has(d) && !(d in DTYPE_BYTES));
        if (odd.length) report.unsupported.push(`weights use dtype ${odd.join(', ')}; the app reads float32, float16, bfloat16 (and integer buffers)`);
        if (names.length && !names.some((n) => n.endsWith('word_embeddings.weight'))) {
          report.unsupported.push(`the weights have no word_embeddings.weight (${names.slice(0, 3).join(', ')}, …): not a ${family ?? 'BERT-family'} checkpoint`);
        }
        if (dtypes.has('F16') || dtypes.has('BF16')) report.warnings.push(`weights are stored in ${[...dtypes].filter((d) => d === 'F16' || d === 'BF16').join(' and ')}; they are upcast to float32 for training`);
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        (err.code === 'unsupported' ? report.unsupported : report.missing).push(err.message.replace(`${dir}${path.sep}`, ''));
      }
    }
  }
  for (const [f, what] of Object.entries(OTHER_WEIGHT_FILES)) {
    if (fs.existsSync(path.join(dir, f))) {
      (weights ? report.warnings : report.unsupported).push(`${f} (${what}) is not read${weights ? '; the app uses ' + weights.entry : ': convert it to PyTorch/safetensors with transformers (AutoModel.from_pretrained(folder, from_tf=True).save_pretrained(folder))'}`);
    }
  }

  // Tokenizer: tokenizer.json, or the files it can be built from (converted here to check them).
  const tok = detectTokenizerSource(dir, family ?? undefined);
  if (!tok) {
    report.missing.push('tokenizer: none of tokenizer.json, vocab.txt, vocab.json + merges.txt or spiece.model; copy the tokenizer files of the base model');
  } else {
    report.tokenizerSource = tok.source;
    for (const m of tok.missing) report.missing.push(`${m}: needed next to ${tok.source === 'vocab.json+merges.txt' ? (m === 'merges.txt' ? 'vocab.json' : 'merges.txt') : tok.source}`);
    if (tok.missing.length === 0) {
      try {
        let tokenizer: JsonObject;
        if (tok.source === 'tokenizer.json') {
          tokenizer = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')) as JsonObject;
          const type = (tokenizer.model as JsonObject | undefined)?.type;
          const vocab = (tokenizer.model as JsonObject | undefined)?.vocab;
          const kind = typeof type === 'string' ? type : Array.isArray(vocab) ? 'Unigram' : (tokenizer.model as JsonObject | undefined)?.merges ? 'BPE' : 'WordPiece';
          if (!['WordPiece', 'BPE', 'Unigram'].includes(kind)) report.unsupported.push(`tokenizer.json uses a ${kind} model; the app reads WordPiece, BPE and Unigram tokenizers`);
        } else {
          const configFile2 = path.join(dir, 'tokenizer_config.json');
          const config = fs.existsSync(configFile2) ? (JSON.parse(fs.readFileSync(configFile2, 'utf8')) as JsonObject) : {};
          const converted = await convertTokenizer(dir, family ?? 'bert', config);
          tokenizer = converted.tokenizer;
          report.warnings.push(`no tokenizer.json: the tokenizer is built from ${tok.source}, as transformers does`);
          report.warnings.push(...converted.warnings);
        }
        const maxId = tokenizerJsonMaxId(tokenizer);
        if (vocabSize !== null && maxId >= vocabSize) {
          report.unsupported.push(`the tokenizer has ids up to ${maxId} but config.json's vocab_size is ${vocabSize}: those ids have no embedding. The tokenizer does not belong to this model`);
        }
      } catch (err) {
        if (err instanceof AppError) (err.code === 'unsupported' ? report.unsupported : report.missing).push(err.message.replace(`${dir}${path.sep}`, ''));
        else if (err instanceof SyntaxError) report.missing.push(`tokenizer.json is not valid JSON (${err.message}); copy it again`);
        else throw err;
      }
    }
  }

  report.ok = report.missing.length === 0 && report.unsupported.length === 0;
  return report;
}

/** Throws AppError('invalid_input') summarising a report that is not ok (for resolveModel and the CLI). */
export function assertImportable(report: ImportReport): void {
  if (report.ok) return;
  const lines = [...report.missing, ...report.unsupported];
  throw new AppError(report.unsupported.length && !report.missing.length ? 'unsupported' : 'invalid_input', `${report.dir} cannot be used as a model: ${lines.join('; ')}`, 'model');
}
