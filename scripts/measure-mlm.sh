#!/bin/bash
# Masked-LM adaptation vs fine-tuning only, for a bert-tiny shape from scratch (issue 14, part 2/3).
# Usage: scripts/measure-mlm.sh [TRAIN_ROWS] [MLM_EPOCHS] [MLM_LR] [SEED]   (after npm run build)
# Labelled: the first TRAIN_ROWS rows of AG News train_5k.csv; unlabelled: the rest of train_5k;
# evaluation: the first 2000 rows of test.csv. Prints the best accuracy of each run and its time.
set -euo pipefail
ROWS=${1:-1000}; MLM_EPOCHS=${2:-2}; MLM_LR=${3:-5e-4}; SEED=${4:-42}
REPO=$(cd "$(dirname "$0")/.." && pwd)
AG="$REPO/../shared/datasets/ag_news"
W=$(mktemp -d)
export FINETUNE_HOME="$W/home"
python3 - "$REPO/resources/tokenizers/bert-base-uncased/config.json" "$W/tiny.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c.update(architectures=['BertForSequenceClassification'], hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512)
json.dump(c, open(sys.argv[2], 'w'))
PY
cp "$AG/classes.txt" "$W/"
head -n "$ROWS" "$AG/train_5k.csv" > "$W/train.csv"
tail -n +"$((ROWS + 1))" "$AG/train_5k.csv" > "$W/unlabelled.csv"
head -n 2000 "$AG/test.csv" > "$W/test.csv"
FT="node $REPO/bin/finetune.js"
$FT init --config "$W/tiny.json" --tokenizer "$REPO/resources/tokenizers/bert-base-uncased" --out "$W/tiny" --seed "$SEED" > /dev/null
COMMON=(--model "$W/tiny" --train "$W/train.csv" --eval "$W/test.csv" --epochs 5 --lr 1e-3 --warmup 0.1 --batch-size 32 --max-length 32 --seed "$SEED" --json)
summary() { tail -n 1 "$1" | python3 -c "import json,sys; e=json.loads(sys.stdin.read()); print(f\"{sys.argv[1]}: accuracy {e['accuracy']:.4f}, macro-F1 {e['macro_f1']:.4f}, {e['seconds']:.0f} s\")" "$2"; }
$FT train "${COMMON[@]}" > "$W/a.jsonl"; summary "$W/a.jsonl" "fine-tune only"
$FT train "${COMMON[@]}" --mlm-epochs "$MLM_EPOCHS" --mlm-lr "$MLM_LR" --mlm-texts "$W/unlabelled.csv" > "$W/b.jsonl"
summary "$W/b.jsonl" "masked-LM ($MLM_EPOCHS epochs at $MLM_LR) then fine-tune"
grep -o '"Masked-LM loss by epoch[^"]*"' "$W/b.jsonl" || true
rm -rf "$W"
