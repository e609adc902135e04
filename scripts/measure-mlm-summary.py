#!/usr/bin/env python3
"""Mean +- sample std of the runs measure-mlm-scratch.sh appended: accuracy, macro-F1 and time
per stage per epoch, by (set, mode, masked-LM epochs, masking). Usage: measure-mlm-summary.py RESULTS.jsonl..."""
import json, statistics, sys
from collections import defaultdict

groups = defaultdict(list)
for path in sys.argv[1:]:
    for line in open(path):
        r = json.loads(line)
        if r['mode'] == 'c':
            continue
        key = (r['set'], r['mode'], r.get('mlm_epochs'), r.get('mask'), r.get('mlm_lr', 5e-4) if r['mode'] == 'b' else None, path)
        groups[key].append(r)

def ms(xs):
    return f"{statistics.mean(xs):.2f} ± {statistics.stdev(xs):.2f}" if len(xs) > 1 else f"{xs[0]:.2f}"

for (s, mode, ep, mask, lr, path), rs in sorted(groups.items(), key=lambda kv: str(kv[0])):
    acc = [100 * r['accuracy'] for r in rs]
    f1 = [100 * r['macro_f1'] for r in rs]
    # The CLI's seconds cover the whole run, the masked-LM stage included.
    ft = [(r['finetune_s'] - (r.get('mlm_s') or 0)) / 5 for r in rs]
    line = f"{s} {mode}" + (f" mlm {ep} ep mask {mask} lr {lr:g}" if mode == 'b' else '') + f" [{path}] seeds {[r['seed'] for r in rs]}: accuracy {ms(acc)}, macro-F1 {ms(f1)}, fine-tune {ms(ft)} s/epoch"
    if mode == 'b':
        line += f", masked-LM {ms([r['mlm_s'] / ep for r in rs])} s/epoch, losses {[r['mlm_losses'] for r in rs]}"
    print(line)
