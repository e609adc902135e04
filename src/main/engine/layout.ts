/** What a run leaves in its folder (<data dir>/runs/<id>/), by name. */
export const MODEL_DIR = 'model';
export const PREDICTIONS_FILE = 'eval_predictions.jsonl';
export const RUN_CONFIG_FILE = 'config.json';
export const TRAIN_LOG_FILE = 'train.log';
/** The encoder adapted by the masked-LM stage, a Hugging Face *ForMaskedLM folder. */
export const MLM_MODEL_DIR = 'mlm-model';
/** The masked-LM stage's own checkpoints (<run>/mlm-stage/checkpoints/checkpoint-<step>). */
export const MLM_STAGE_DIR = 'mlm-stage';
