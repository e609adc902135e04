/**
 * Training checkpoints: weights, AdamW moments, and the trainer state (step, epoch, best metric,
 * early-stopping counter). Written to a temp folder, fsynced, then renamed into place, so a
 * folder named checkpoint-<step> is always complete; only the newest is kept.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fsyncTree, removeDirSafely, renameWithRetry, writeFileSynced } from '../fsutil';
import { readSafetensors, serializeSafetensors, type WeightMap } from './safetensors';

export interface TrainerState {
  version: 1;
  /** Optimizer steps done. */
  globalStep: number;
  /** Whole epochs done (checkpoints are written at epoch ends). */
  epochsCompleted: number;
  bestMetric: number | null;
  bestStep: number | null;
  evalsWithoutImprovement: number;
  seed: number;
  labels: string[];
  /** Seconds of training before this checkpoint (elapsed time continues across a resume). */
  trainingSeconds: number;
}

export const CHECKPOINT_PREFIX = 'checkpoint-';

export function checkpointsDir(runDir: string): string {
  return path.join(runDir, 'checkpoints');
}

export interface CheckpointData {
  state: TrainerState;
  weights: [string, { shape: number[]; data: Float32Array }][];
  moments: Map<string, { m: Float32Array; v: Float32Array }>;
  shapes: Map<string, number[]>;
}


/** Writes checkpoint-<step> atomically and removes older checkpoints. Returns its folder. */
export function writeCheckpoint(runDir: string, data: CheckpointData): string {
  const dir = checkpointsDir(runDir);
  fs.mkdirSync(dir, { recursive: true });
  const name = `${CHECKPOINT_PREFIX}${data.state.globalStep}`;
  const final = path.join(dir, name);
  const tmp = path.join(dir, `.tmp-${name}-${process.pid}-${Date.now()}`);
  fs.mkdirSync(tmp);
  try {
    writeFileSynced(path.join(tmp, 'model.safetensors'), serializeSafetensors(data.weights));
    const moments: [string, { shape: number[]; data: Float32Array }][] = [];
    for (const [param, { m, v }] of data.moments) {
      const shape = data.shapes.get(param) ?? [m.length];
      moments.push([`exp_avg.${param}`, { shape, data: m }], [`exp_avg_sq.${param}`, { shape, data: v }]);
    }
    writeFileSynced(path.join(tmp, 'optimizer.safetensors'), serializeSafetensors(moments));
    // The state file is written last: its presence marks the folder's contents as complete.
    writeFileSynced(path.join(tmp, 'trainer_state.json'), JSON.stringify(data.state, null, 2));
    fsyncTree(tmp);
    if (fs.existsSync(final)) removeDirSafely(final);
    renameWithRetry(tmp, final, 10);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  for (const entry of fs.readdirSync(dir)) {
    const p = path.join(dir, entry);
    if (entry === name) continue;
    if (entry.startsWith(CHECKPOINT_PREFIX) || entry.startsWith('.tmp-')) fs.rmSync(p, { recursive: true, force: true });
  }
  return final;
}

/** The newest complete checkpoint folder of a run, or null. Half-written temp folders are ignored. */
export function latestCheckpoint(runDir: string): string | null {
  const dir = checkpointsDir(runDir);
  if (!fs.existsSync(dir)) return null;
  let best: { step: number; dir: string } | null = null;
  for (const entry of fs.readdirSync(dir)) {
    const m = /^checkpoint-(\d+)$/.exec(entry);
    if (!m) continue;
    const p = path.join(dir, entry);
    if (!fs.existsSync(path.join(p, 'trainer_state.json'))) continue;
    const step = Number(m[1]);
    if (!best || step > best.step) best = { step, dir: p };
  }
  return best?.dir ?? null;
}

export interface LoadedCheckpoint {
  state: TrainerState;
  weights: WeightMap;
  moments: Map<string, { m: Float32Array; v: Float32Array }>;
}

export function readCheckpoint(dir: string): LoadedCheckpoint {
  const state = JSON.parse(fs.readFileSync(path.join(dir, 'trainer_state.json'), 'utf8')) as TrainerState;
  if (state.version !== 1) throw new Error(`${dir}: checkpoint version ${String(state.version)} is not supported`);
  const weights = readSafetensors(path.join(dir, 'model.safetensors'));
  const opt = readSafetensors(path.join(dir, 'optimizer.safetensors'));
  const moments = new Map<string, { m: Float32Array; v: Float32Array }>();
  for (const [key, t] of opt) {
    const m = /^exp_avg\.(.+)$/.exec(key);
    if (!m) continue;
    const v = opt.get(`exp_avg_sq.${m[1]}`);
    if (!v) throw new Error(`${dir}: optimizer state lacks exp_avg_sq.${m[1]}`);
    moments.set(m[1]!, { m: t.data, v: v.data });
  }
  return { state, weights, moments };
}
