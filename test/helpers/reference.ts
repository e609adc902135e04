/** Access to ../shared/reference: the fixture models and their golden values. */
import fs from 'node:fs';
import path from 'node:path';

export const FAMILIES = ['bert', 'roberta', 'distilbert', 'albert'] as const;
export type Family = (typeof FAMILIES)[number];

export const SHARED_DIR = path.resolve(__dirname, '../../../shared');
export const REFERENCE_DIR = path.join(SHARED_DIR, 'reference');
export const DATASETS_DIR = path.join(SHARED_DIR, 'datasets');

export function fixtureDir(family: Family): string {
  return path.join(REFERENCE_DIR, 'fixtures', family);
}

export interface TokenizationCase {
  text: string;
  text_pair?: string;
  truncation_max_length?: number;
  input_ids: number[];
  token_type_ids: number[];
  tokens: string[];
}

export interface LogitsCase {
  name: string;
  input?: { input_ids: number[][]; attention_mask?: number[][]; token_type_ids?: number[][] };
  input_ids?: number[][];
  attention_mask?: number[][];
  token_type_ids?: number[][];
  logits: number[][];
  logits_float64: number[][];
  [key: string]: unknown;
}

export interface Golden {
  family: string;
  tokenization: TokenizationCase[];
  activation: { name?: string; x: number[]; y: number[]; [key: string]: unknown };
  logits_cases: LogitsCase[];
  hidden_states: Record<string, unknown>;
  train_step: Record<string, unknown>;
  train_steps_3: Record<string, unknown>;
  tolerances: Record<string, number>;
  [key: string]: unknown;
}

export function loadGolden(family: Family): Golden {
  return JSON.parse(fs.readFileSync(path.join(fixtureDir(family), 'golden.json'), 'utf8')) as Golden;
}
