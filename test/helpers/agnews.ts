import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import type { DatasetRow } from '../../src/shared/run-config';
import { DATASETS_DIR } from './reference';

export const AG_LABELS = ['World', 'Sports', 'Business', 'Sci/Tech'];

/** Rows of an AG News file (class 1-4, title, description) as text = title + " " + description. */
export function agNewsRows(file: 'train_5k.csv' | 'test.csv', limit?: number): DatasetRow[] {
  const records = parse(fs.readFileSync(path.join(DATASETS_DIR, 'ag_news', file)), { to: limit }) as string[][];
  return records.map((r) => ({ text: `${r[1]} ${r[2]}`, label: Number(r[0]) - 1 }));
}
