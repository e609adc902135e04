import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import type { TrainJob } from '../../src/main/engine/trainer';
import { RECOMMENDED_OPTIONS, type DatasetRow, type RunConfig } from '../../src/shared/run-config';
import { DATASETS_DIR, fixtureDir } from './reference';

export const AG_LABELS = ['World', 'Sports', 'Business', 'Sci/Tech'];

/** Rows of an AG News file (class 1-4, title, description) as text = title + " " + description. */
export function agNewsRows(file: 'train_5k.csv' | 'test.csv', limit?: number): DatasetRow[] {
  const records = parse(fs.readFileSync(path.join(DATASETS_DIR, 'ag_news', file)), { to: limit }) as string[][];
  return records.map((r) => ({ text: `${r[1]} ${r[2]}`, label: Number(r[0]) - 1 }));
}

/** A Trainer job on AG News rows with a reference fixture model (the trainer tests' shape). */
export function agNewsTrainJob(
  dir: string,
  name: string,
  rows: { train: DatasetRow[]; eval: DatasetRow[] },
  options: Partial<RunConfig['options']> = {},
  family: 'bert' | 'roberta' | 'distilbert' | 'albert' = 'bert',
): TrainJob {
  return {
    runId: name,
    runDir: path.join(dir, name),
    resume: false,
    train: rows.train,
    eval: rows.eval,
    config: {
      name,
      model: { source: family, path: fixtureDir(family) },
      labels: AG_LABELS,
      dataset: { fingerprint: 'test', name: 'ag', trainCount: rows.train.length, evalCount: rows.eval.length, path: null },
      options: { ...RECOMMENDED_OPTIONS, epochs: 2, batchSize: 8, learningRate: 1e-3, maxLength: 32, evalBatchSize: 16, ...options },
    },
  };
}
