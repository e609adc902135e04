/**
 * train.py of an exported training recipe: reproduces a run with transformers.Trainer. It reads
 * everything from config.json (the RunConfig) and data/, hard-codes no device, and runs as is
 * under `python train.py` and `accelerate launch train.py`. Supported transformers versions
 * differ in argument names (eval_strategy / evaluation_strategy, processing_class / tokenizer;
 * 5.x has no warmup_ratio (warmup_steps below 1 is the ratio) and no group_by_length
 * (train_sampling_strategy="group_by_length")): the script passes what the installed version
 * accepts. Checked with transformers 5.17 under python and accelerate launch (GPU machine).
 *
 * Kept as one string (no template interpolation) so that the file is byte-for-byte the same for
 * every run; `python3 -m py_compile` checks it in the tests.
 */
export const TRAIN_PY = String.raw`#!/usr/bin/env python3
"""Reproduces a Finetune Studio run with Hugging Face transformers.Trainer.

    pip install -r requirements.txt
    python train.py                    # one GPU (or the CPU)
    accelerate launch train.py         # several GPUs: one process per GPU
    python train.py --dry-run          # print the settings as JSON, train nothing

It reads config.json (the run's configuration: model, labels, options) and
data/train.jsonl, data/eval.jsonl (one {"text": ..., "label": <index into the labels>} per
line). Checkpoints and the best model go to --output-dir (default: ./output).
"""

import argparse
import hashlib
import inspect
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BEST_METRIC_NAMES = {"accuracy": "accuracy", "macro_f1": "macro_f1", "eval_loss": "loss"}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Fine-tune a text classifier as the Finetune Studio run did.")
    p.add_argument("--config", default=os.path.join(HERE, "config.json"), help="the run configuration (default: config.json beside this script)")
    p.add_argument("--data-dir", default=os.path.join(HERE, "data"), help="folder with train.jsonl and eval.jsonl")
    p.add_argument("--output-dir", default=os.path.join(HERE, "output"), help="checkpoints and the best model")
    p.add_argument("--model", default=None, help="train another model (Hub id or folder) instead of the run's")
    p.add_argument("--per-device-batch-size", type=int, default=None,
                   help="default: the run's batch size divided by the number of processes, so the global batch stays the same")
    p.add_argument("--fp16", action="store_true", help="mixed precision (float16); the run itself trained in float32")
    p.add_argument("--bf16", action="store_true", help="mixed precision (bfloat16); the run itself trained in float32")
    p.add_argument("--max-steps", type=int, default=-1, help="stop after this many optimizer steps (a quick check)")
    p.add_argument("--report-to", default="none", help="tensorboard, wandb, ... (default: none)")
    p.add_argument("--dry-run", action="store_true", help="print the settings as JSON and exit (needs neither torch nor transformers)")
    return p.parse_args(argv)


def fail(message):
    print("train.py: " + message, file=sys.stderr)
    sys.exit(2)


def load_config(path):
    try:
        with open(path, encoding="utf-8") as f:
            cfg = json.load(f)
    except (OSError, ValueError) as e:
        fail("cannot read %s: %s" % (path, e))
    for key in ("model", "labels", "options"):
        if key not in cfg:
            fail("%s has no %r: is it the config.json of an exported recipe?" % (path, key))
    return cfg


def read_rows(path, num_labels):
    """Rows of a prepared JSONL file as (texts, labels); checks every label index."""
    texts, labels = [], []
    if not os.path.exists(path):
        return texts, labels
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                text, label = row["text"], int(row["label"])
            except (ValueError, KeyError, TypeError) as e:
                fail("%s line %d is not {\"text\": ..., \"label\": N}: %s" % (path, n, e))
            if not 0 <= label < num_labels:
                fail("%s line %d: label %d is not between 0 and %d" % (path, n, label, num_labels - 1))
            texts.append(text)
            labels.append(label)
    return texts, labels


def check_data(data_dir):
    """Warns when the data differs from what the run trained on (data/dataset.json holds the sha256s)."""
    meta_file = os.path.join(data_dir, "dataset.json")
    if not os.path.exists(meta_file):
        return
    with open(meta_file, encoding="utf-8") as f:
        meta = json.load(f)
    for split in ("train", "eval"):
        expected = (meta.get("contentSha256") or {}).get(split)
        path = os.path.join(data_dir, split + ".jsonl")
        if not expected or not os.path.exists(path):
            continue
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        if h.hexdigest() != expected:
            print("train.py: note: %s differs from the data the run trained on" % path, file=sys.stderr)


def world_size():
    # Set by accelerate launch and torchrun; 1 for a plain python train.py.
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        return 1


def model_source(cfg, args):
    """(name_or_path, revision) of the model to start from."""
    if args.model:
        return args.model, None
    recipe = cfg.get("recipe") or {}
    path = cfg["model"]["path"]
    local = os.path.join(HERE, path)
    if recipe.get("localModel") and os.path.isdir(local):
        return local, None
    return path, recipe.get("revision")


def plan(cfg, args, train_rows, eval_rows):
    """Every setting of the run as transformers.Trainer names it."""
    o = cfg["options"]
    ws = world_size()
    batch = int(o["batchSize"])
    notes = []
    if args.per_device_batch_size:
        per_device = args.per_device_batch_size
    else:
        per_device = max(1, batch // ws)
        if batch % ws:
            notes.append("the batch size %d does not divide among %d processes: %d per device, %d in all"
                         % (batch, ws, per_device, per_device * ws))
    has_eval = eval_rows > 0
    every = o.get("evalEverySteps")
    strategy = ("steps" if every else "epoch") if has_eval else "no"
    best = o.get("bestMetric", "accuracy")
    ta = {
        "output_dir": args.output_dir,
        "learning_rate": float(o["learningRate"]),
        "num_train_epochs": float(o["epochs"]),
        "max_steps": args.max_steps,
        "per_device_train_batch_size": per_device,
        "per_device_eval_batch_size": int(o.get("evalBatchSize", 64)),
        "gradient_accumulation_steps": int(o["gradientAccumulationSteps"]),
        "weight_decay": float(o["weightDecay"]),
        "max_grad_norm": float(o["maxGradNorm"]),
        "adam_beta1": 0.9,
        "adam_beta2": 0.999,
        "adam_epsilon": 1e-8,
        "lr_scheduler_type": "linear",
        "seed": int(o["seed"]),
        "data_seed": int(o["seed"]),
        "eval_strategy": strategy,
        "save_strategy": strategy if has_eval else "epoch",
        "logging_strategy": "steps",
        "logging_steps": max(1, min(50, int(every or 50))),
        "load_best_model_at_end": has_eval,
        "save_total_limit": 2,
        "group_by_length": bool(o.get("groupByLength")),
        "report_to": args.report_to,
        "fp16": bool(args.fp16),
        "bf16": bool(args.bf16),
    }
    if int(o.get("warmupSteps") or 0) > 0:
        ta["warmup_steps"] = int(o["warmupSteps"])
    elif float(o.get("warmupRatio") or 0) > 0:
        ta["warmup_ratio"] = float(o["warmupRatio"])
    if every:
        ta["eval_steps"] = int(every)
        ta["save_steps"] = int(every)
    if has_eval:
        ta["metric_for_best_model"] = BEST_METRIC_NAMES.get(best, "accuracy")
        ta["greater_is_better"] = best != "eval_loss"
    name, revision = model_source(cfg, args)
    return {
        "model": name,
        "revision": revision,
        "labels": list(cfg["labels"]),
        "max_length": int(o["maxLength"]),
        "truncation": True,
        "class_weights": o.get("classWeights"),
        "early_stopping_patience": o.get("earlyStoppingPatience") if has_eval else None,
        "freeze_encoder": bool(o.get("freezeEncoder")),
        "world_size": ws,
        "global_batch_size": per_device * ws * int(o["gradientAccumulationSteps"]),
        "train_rows": train_rows,
        "eval_rows": eval_rows,
        "training_arguments": ta,
        "notes": notes,
    }


def supported(callable_, kwargs, what):
    """The kwargs callable_ accepts, renaming those that moved between transformers versions."""
    params = set(inspect.signature(callable_).parameters)
    out = dict(kwargs)
    if "eval_strategy" in out and "eval_strategy" not in params and "evaluation_strategy" in params:
        out["evaluation_strategy"] = out.pop("eval_strategy")
    if "warmup_ratio" in out and "warmup_ratio" not in params and "warmup_steps" in params:
        out["warmup_steps"] = out.pop("warmup_ratio")  # newer versions: a float below 1 is a ratio
    if "group_by_length" in out:
        if not out["group_by_length"]:
            out.pop("group_by_length")
        elif "group_by_length" not in params and "train_sampling_strategy" in params:
            out.pop("group_by_length")
            out["train_sampling_strategy"] = "group_by_length"
    dropped = [k for k in out if k not in params]
    for k in dropped:
        print("train.py: note: this transformers version has no %s.%s; left out" % (what, k), file=sys.stderr)
        out.pop(k)
    return out


def head_parameter(name):
    """The classification head, as Finetune Studio's quick mode trains it (pooler included)."""
    return name.startswith(("classifier.", "pre_classifier.")) or ".pooler." in name


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config)
    labels = list(cfg["labels"])
    check_data(args.data_dir)
    train_texts, train_labels = read_rows(os.path.join(args.data_dir, "train.jsonl"), len(labels))
    eval_texts, eval_labels = read_rows(os.path.join(args.data_dir, "eval.jsonl"), len(labels))
    if not train_texts:
        fail("no training rows in %s" % os.path.join(args.data_dir, "train.jsonl"))
    settings = plan(cfg, args, len(train_texts), len(eval_texts))
    if args.dry_run:
        print(json.dumps(settings, indent=2))
        return 0

    import numpy as np
    import torch
    from sklearn.metrics import accuracy_score, f1_score
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding,
                              EarlyStoppingCallback, Trainer, TrainingArguments, set_seed)

    o = cfg["options"]
    set_seed(int(o["seed"]))
    name, revision = settings["model"], settings["revision"]
    extra = {"revision": revision} if revision else {}
    tokenizer = AutoTokenizer.from_pretrained(name, **extra)
    model = AutoModelForSequenceClassification.from_pretrained(
        name,
        num_labels=len(labels),
        id2label={i: l for i, l in enumerate(labels)},
        label2id={l: i for i, l in enumerate(labels)},
        problem_type="single_label_classification",
        ignore_mismatched_sizes=True,
        **extra,
    )
    if settings["freeze_encoder"]:
        for pname, param in model.named_parameters():
            param.requires_grad = head_parameter(pname)

    max_length = settings["max_length"]

    class Rows(torch.utils.data.Dataset):
        def __init__(self, texts, targets):
            self.enc = tokenizer(texts, truncation=True, max_length=max_length)
            self.targets = targets

        def __len__(self):
            return len(self.targets)

        def __getitem__(self, i):
            item = {k: v[i] for k, v in self.enc.items()}
            item["labels"] = self.targets[i]
            return item

    train_set = Rows(train_texts, train_labels)
    eval_set = Rows(eval_texts, eval_labels) if eval_texts else None

    def compute_metrics(prediction):
        logits, truth = prediction.predictions, prediction.label_ids
        if isinstance(logits, tuple):
            logits = logits[0]
        predicted = np.argmax(logits, axis=-1)
        return {
            "accuracy": float(accuracy_score(truth, predicted)),
            "macro_f1": float(f1_score(truth, predicted, average="macro", zero_division=0)),
        }

    class_weights = settings["class_weights"]

    class WeightedLossTrainer(Trainer):
        """Cross-entropy weighted per class (mean over the weights of the batch, as torch does)."""

        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            self.class_weights = torch.tensor(class_weights, dtype=torch.float32)
            # The loss below is a mean: let the Trainer divide it by the accumulation steps.
            self.model_accepts_loss_kwargs = False

        def compute_loss(self, model, inputs, return_outputs=False, **kwargs):
            targets = inputs.pop("labels")
            outputs = model(**inputs)
            logits = outputs.logits
            weight = self.class_weights.to(device=logits.device, dtype=logits.dtype)
            loss = torch.nn.functional.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), weight=weight)
            return (loss, outputs) if return_outputs else loss

    training_args = TrainingArguments(**supported(TrainingArguments.__init__, settings["training_arguments"], "TrainingArguments"))
    callbacks = []
    if settings["early_stopping_patience"]:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=int(settings["early_stopping_patience"])))
    trainer_class = WeightedLossTrainer if class_weights else Trainer
    trainer_kwargs = supported(Trainer.__init__, {
        "model": model,
        "args": training_args,
        "train_dataset": train_set,
        "eval_dataset": eval_set,
        "data_collator": DataCollatorWithPadding(tokenizer),
        "compute_metrics": compute_metrics if eval_set is not None else None,
        "callbacks": callbacks,
        "processing_class": tokenizer,
    }, "Trainer")
    if "processing_class" not in trainer_kwargs:
        trainer_kwargs["tokenizer"] = tokenizer
    trainer = trainer_class(**trainer_kwargs)
    if trainer.is_world_process_zero():
        for note in settings["notes"]:
            print("train.py: note: " + note, file=sys.stderr)
        print("Training %s on %d rows (%d for evaluation), %d process(es), global batch %d."
              % (name, len(train_texts), len(eval_texts), settings["world_size"], settings["global_batch_size"]))
    trainer.train()
    best_dir = os.path.join(args.output_dir, "best_model")
    trainer.save_model(best_dir)
    if eval_set is not None:
        metrics = trainer.evaluate()
        trainer.save_metrics("eval", metrics)
        if trainer.is_world_process_zero():
            print(json.dumps({k: v for k, v in metrics.items() if isinstance(v, (int, float))}, indent=2))
    if trainer.is_world_process_zero():
        print("Best model: " + best_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
`;
