/** Measured training speeds, by model, dataset and the options that change the speed (this session only). */
import type { TrainingEstimate } from '../../../shared/api';
import type { TrainingOptions } from '../../../shared/run-config';

export function estimateKey(model: string, datasetId: string, o: Pick<TrainingOptions, 'batchSize' | 'maxLength' | 'freezeEncoder'>): string {
  return JSON.stringify([model, datasetId, o.batchSize, o.maxLength, o.freezeEncoder]);
}

/** The estimate rescaled to another number of epochs (the measure does not depend on it). */
export function forEpochs(e: TrainingEstimate & { epochs: number }, epochs: number): TrainingEstimate {
  return { ...e, secondsTotal: (e.secondsTotal / Math.max(e.epochs, 1e-9)) * epochs };
}

class Estimates {
  private map = $state.raw<Record<string, TrainingEstimate & { epochs: number }>>({});

  get(key: string, epochs: number): TrainingEstimate | undefined {
    const e = this.map[key];
    return e ? forEpochs(e, epochs) : undefined;
  }

  set(key: string, e: TrainingEstimate, epochs: number): void {
    this.map = { ...this.map, [key]: { ...e, epochs } };
  }
}

export const estimates = new Estimates();
