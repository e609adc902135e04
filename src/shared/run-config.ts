/**
 * What a training run is: the model, the labels, the data and the options. One zod schema
 * parses it at every boundary (UI, HTTP, CLI, the trainer process); the type comes from it.
 */
import { z } from 'zod';

export const BEST_METRICS = ['accuracy', 'macro_f1', 'eval_loss'] as const;
export type BestMetric = (typeof BEST_METRICS)[number];

const positiveInt = (what: string, max: number) =>
  z
    .number({ error: `${what} must be a number` })
    .int(`${what} must be a whole number`)
    .min(1, `${what} must be at least 1`)
    .max(max, `${what} must be at most ${max}`);

export const trainingOptionsSchema = z.object({
  epochs: z.number({ error: 'epochs must be a number' }).positive('epochs must be more than 0').max(1000, 'epochs must be at most 1000'),
  learningRate: z
    .number({ error: 'the learning rate must be a number' })
    .gt(0, 'the learning rate must be more than 0')
    .max(1, 'a learning rate above 1 diverges; typical values are 1e-5 to 1e-4'),
  batchSize: positiveInt('the batch size', 4096),
  maxLength: z
    .number()
    .int('the max length must be a whole number')
    .min(8, 'the max length must be at least 8 tokens')
    .max(8192, 'the max length must be at most 8192 tokens'),
  warmupRatio: z.number().min(0, 'the warm-up ratio is between 0 and 1').max(1, 'the warm-up ratio is between 0 and 1'),
  /** Warm-up steps; when above 0 it wins over the ratio (as in the Trainer). */
  warmupSteps: z.number().int().min(0, 'warm-up steps cannot be negative'),
  weightDecay: z.number().min(0, 'weight decay cannot be negative').max(1, 'weight decay above 1 erases the weights'),
  gradientAccumulationSteps: positiveInt('gradient accumulation steps', 1024),
  maxGradNorm: z.number().min(0, 'the clipping norm cannot be negative'),
  seed: z.number().int('the seed must be a whole number').min(0).max(2 ** 31 - 1),
  /** Stop after this many evaluations without improvement; null never stops early. */
  earlyStoppingPatience: z.number().int().min(1, 'patience must be at least 1 evaluation').nullable(),
  bestMetric: z.enum(BEST_METRICS),
  /** Evaluate every N optimizer steps; null evaluates at each epoch end. */
  evalEverySteps: z.number().int().min(1, 'evaluate at least every step').nullable(),
  /** One weight per label for a class-weighted loss; null for the plain loss. */
  classWeights: z.array(z.number().positive('class weights must be more than 0')).nullable(),
  /** Quick mode: the encoder is frozen, only the classification head trains. */
  freezeEncoder: z.boolean(),
  /** Batches of similar lengths (less padding, faster), shuffled in mega-batches as the Trainer's group_by_length. */
  groupByLength: z.boolean(),
  evalBatchSize: positiveInt('the evaluation batch size', 4096),
})
  // An unknown key is refused (a typo such as "learningrate" must not be silently ignored).
  .strict();

export type TrainingOptions = z.infer<typeof trainingOptionsSchema>;

/**
 * Why the class weights do not fit the labels (one positive weight per label), or null. Used by
 * the run settings' schema and by every call that takes options with a dataset (estimateTraining).
 */
export function classWeightsProblem(classWeights: readonly number[] | null, labelCount: number): string | null {
  if (classWeights === null) return null;
  if (classWeights.length !== labelCount) {
    return `options.classWeights has ${classWeights.length} weight${classWeights.length === 1 ? '' : 's'}; give one class weight per label (${labelCount})`;
  }
  return null;
}

/** The Hugging Face recipe the app reproduces: lr 2e-5, batch 16, 3 epochs, weight decay 0.01, length 128. */
export const RECOMMENDED_OPTIONS: TrainingOptions = {
  epochs: 3,
  learningRate: 2e-5,
  batchSize: 16,
  maxLength: 128,
  warmupRatio: 0,
  warmupSteps: 0,
  weightDecay: 0.01,
  gradientAccumulationSteps: 1,
  maxGradNorm: 1,
  seed: 42,
  earlyStoppingPatience: null,
  bestMetric: 'accuracy',
  evalEverySteps: null,
  classWeights: null,
  freezeEncoder: false,
  groupByLength: false,
  evalBatchSize: 64,
};

export const PRESETS: Record<'recommended' | 'fast' | 'thorough', { label: string; description: string; options: TrainingOptions }> = {
  recommended: {
    label: 'Recommended',
    description: 'The Hugging Face recipe: 3 epochs at 2e-5, batch 16, length 128.',
    options: RECOMMENDED_OPTIONS,
  },
  fast: {
    label: 'Fast',
    description: 'One epoch, shorter texts (64 tokens), grouped by length: a first result in a fraction of the time.',
    options: { ...RECOMMENDED_OPTIONS, epochs: 1, learningRate: 5e-5, batchSize: 32, maxLength: 64, groupByLength: true },
  },
  thorough: {
    label: 'Thorough',
    description: '5 epochs with warm-up and early stopping on macro-F1: best accuracy, longest training.',
    options: { ...RECOMMENDED_OPTIONS, epochs: 5, warmupRatio: 0.1, maxLength: 256, earlyStoppingPatience: 2, bestMetric: 'macro_f1' },
  },
};

/**
 * The masked-LM adaptation stage ("adapt the model to your texts first"): continued pretraining
 * of the encoder on the training texts (and an optional file of unlabelled texts) before
 * fine-tuning. learningRate defaults to MLM_DEFAULT_LEARNING_RATE.
 */
export const mlmStageSchema = z
  .object({
    epochs: positiveInt('masked-LM epochs', 100),
    /** One text per line (.txt) or a CSV / TSV / JSONL with a text column; null or absent: the training texts only. */
    extraTextsFile: z.string().min(1, 'the extra texts file path is empty').max(4096).nullable().optional(),
    learningRate: z
      .number({ error: 'the masked-LM learning rate must be a number' })
      .gt(0, 'the masked-LM learning rate must be more than 0')
      .max(1, 'a learning rate above 1 diverges')
      .optional(),
    /** Share of the tokens chosen as targets (DataCollatorForLanguageModeling's mlm_probability); 0.15 when absent. */
    maskProbability: z
      .number({ error: 'the masking share must be a number' })
      .min(0.01, 'the masking share must be at least 0.01')
      .max(0.9, 'the masking share must be at most 0.9')
      .optional(),
  })
  .strict();
export type MlmStage = z.infer<typeof mlmStageSchema>;

/** run_mlm.py's default (5e-5) is for pretrained encoders; from scratch a higher rate learns faster. */
export const MLM_DEFAULT_LEARNING_RATE = 5e-5;
export const MLM_SCRATCH_LEARNING_RATE = 5e-4;
/** The epochs proposed when the stage is switched on. */
export const MLM_SCRATCH_EPOCHS = 3;
/**
 * Whether the Settings step switches the stage on for a model from scratch. Measured (bert-tiny
 * shape from `finetune init`, length 64, batch 32, fine-tune 5 epochs at 1e-3, masked-LM at 5e-4,
 * seeds 1-3, the best evaluation by eval loss; scripts/measure-mlm-scratch.sh, CPU): TREC (5,452 -> 500 questions) fine-tune only
 * 85.87 ± 0.83 % (macro-F1 84.67 ± 0.32); masked-LM 3 epochs then fine-tune 86.53 ± 1.21 %
 * (85.57 ± 1.34); 10 epochs 85.93 ± 1.81 % (81.65 ± 5.60); keyword baseline 88.2 %. AG News (train_5k ->
 * test; keyword baseline 87.88 %) is not measured with this code (an earlier attempt: fine-tune
 * only 84.96 ± 1.00 %, masked-LM 1 epoch 84.64 ± 0.38 %). The issue's bar (+2 points on AG News
 * and a second set) is not shown, so the stage is proposed off.
 * Masking and rate on TREC (same settings, 3 masked-LM epochs unless said; runs are deterministic
 * per seed: fine-tune only seed 1 and mask 0.15 seed 1 reproduced 85.2 % and 86.4 % exactly):
 * mask 0.30 84.40 ± 0.87 % (F1 84.53 ± 1.25; seeds 1-3: 85.0, 84.8, 83.4); mask 0.40
 * 85.73 ± 1.10 % (85.02 ± 1.66; 85.2, 85.0, 87.0); mask 0.15 at 1e-3 86.07 ± 0.12 % (85.19 ± 1.31;
 * 86.2, 86.0, 86.0); 10 epochs, mask 0.15 at 1e-3 85.27 ± 0.23 % (84.62 ± 1.14). Seeds 4-5 added:
 * fine-tune only 85.76 ± 0.62 % over 5 seeds (84.82 ± 0.39), mask 0.15 at 5e-4 86.16 ± 1.00 %
 * (85.56 ± 1.02), a paired gain of +0.40 ± 0.65 points. No setting comes near +2 points.
 * Time on the shared 2-core CPU: masked-LM 20-54 s/epoch, fine-tune 11-30 s/epoch (load-bound).
 */
export const MLM_ON_FOR_SCRATCH = false;

export const datasetRowSchema = z.object({ text: z.string(), label: z.number().int().min(0) });
export type DatasetRow = z.infer<typeof datasetRowSchema>;

export const runConfigSchema = z
  .object({
    name: z.string().min(1).max(200),
    model: z.object({
      /** As the user gave it: a Hub id ("roberta-base") or a folder. */
      source: z.string().min(1),
      /** The local folder the trainer reads. */
      path: z.string().min(1),
    }),
    labels: z.array(z.string().min(1)).min(2, 'a classifier needs at least 2 labels').max(10000),
    dataset: z.object({
      /** sha256 fingerprint of the prepared data. */
      fingerprint: z.string().min(1),
      name: z.string(),
      trainCount: z.number().int().min(1),
      evalCount: z.number().int().min(0),
      /** Folder of the prepared copy (train.jsonl, eval.jsonl), when there is one. */
      path: z.string().nullable(),
    }),
    options: trainingOptionsSchema,
    /** 'scratch' when the model started from random weights (the learning check's presets); absent: pretrained. */
    modelStart: z.enum(['pretrained', 'scratch']).optional(),
    /** Masked-LM adaptation before fine-tuning; absent or null: fine-tune only. */
    mlm: mlmStageSchema.nullable().optional(),
  })
  .superRefine((c, ctx) => {
    const problem = classWeightsProblem(c.options.classWeights, c.labels.length);
    if (problem) ctx.addIssue({ code: 'custom', path: ['options', 'classWeights'], message: problem });
  });

export type RunConfig = z.infer<typeof runConfigSchema>;
