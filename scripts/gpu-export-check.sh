#!/usr/bin/env bash
# Loads Finetune Studio exports with Python transformers (where it is installed, e.g. a GPU box).
#
#   scripts/gpu-export-check.sh HF_DIR ENGINE_LOGITS.json [RECIPE_DIR]
#
# HF_DIR: an exported Hugging Face folder. ENGINE_LOGITS.json: the engine's logits for some texts
# ({"texts", "max_length", "input_ids", "attention_mask", "token_type_ids", "logits"}); the export
# test writes both when run with FINETUNE_EXPORT_CHECK_DIR=DIR
# (DIR/<family>/, DIR/<family>.logits.json, DIR/recipe/). Prints one JSON line per device with the
# max |transformers - engine| logits, on the engine's token ids and on AutoTokenizer's own.
# With RECIPE_DIR, also runs its train.py for 3 steps (python, then accelerate launch).
set -euo pipefail
if [ $# -lt 2 ]; then sed -n '2,12p' "$0"; exit 2; fi
PY=${PYTHON:-python3}
"$PY" - "$1" "$2" <<'PYEOF'
import json, sys
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer
import transformers
folder, logits_file = sys.argv[1], sys.argv[2]
ref = json.load(open(logits_file))
expected = torch.tensor(ref["logits"], dtype=torch.float32)
tok = AutoTokenizer.from_pretrained(folder)
names = tok.model_input_names
engine_inputs = {k: torch.tensor(ref[k]) for k in ("input_ids", "attention_mask", "token_type_ids") if k in names}
own = tok(ref["texts"], truncation=True, max_length=ref["max_length"], padding=True, return_tensors="pt")
same_ids = all(a[: int(m.sum())] == b[: int(n.sum())] for a, b, m, n in zip(own["input_ids"].tolist(), ref["input_ids"], own["attention_mask"], torch.tensor(ref["attention_mask"])))
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
for device in ["cpu"] + (["cuda"] if torch.cuda.is_available() else []):
    model = AutoModelForSequenceClassification.from_pretrained(folder).to(device).eval()
    with torch.no_grad():
        a = model(**{k: v.to(device) for k, v in engine_inputs.items()}).logits.float().cpu()
        b = model(**{k: v.to(device) for k, v in own.items() if k in names}).logits.float().cpu()
    print(json.dumps({
        "folder": folder, "device": device, "transformers": transformers.__version__, "torch": torch.__version__,
        "labels": [model.config.id2label[i] for i in range(model.config.num_labels)],
        "max_abs_diff_engine_ids": float((a - expected).abs().max()),
        "max_abs_diff_autotokenizer": float((b - expected).abs().max()),
        "autotokenizer_same_ids": bool(same_ids),
    }))
PYEOF
if [ -n "${3:-}" ]; then
  out=$(mktemp -d)
  (cd "$3" && "$PY" train.py --max-steps 3 --output-dir "$out/python" && test -f "$out/python/best_model/config.json")
  echo '{"recipe": "python train.py: ok"}'
  if command -v accelerate >/dev/null; then
    (cd "$3" && accelerate launch --num_processes 1 train.py --max-steps 3 --output-dir "$out/accelerate" && test -f "$out/accelerate/best_model/config.json")
    echo '{"recipe": "accelerate launch train.py: ok"}'
  fi
  rm -rf "$out"
fi
