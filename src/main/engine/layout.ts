/** What a run leaves in its folder (<data dir>/runs/<id>/), by name. */
export const MODEL_DIR = 'model';
export const PREDICTIONS_FILE = 'eval_predictions.jsonl';
export const RUN_CONFIG_FILE = 'config.json';
export const TRAIN_LOG_FILE = 'train.log';
