#!/usr/bin/python3
"""Logits of several exported model folders in one Python process (torch is imported once).

    check-export.py REFERENCE_PY JOBS.json

REFERENCE_PY is ../shared/reference/hf_reference.py (the independent PyTorch reference);
JOBS.json is [{"dir": MODEL_DIR, "input": {"input_ids": [[...]], "attention_mask": [[...]],
"token_type_ids": [[...]]}}, ...]. Prints {"results": [{"dir": ..., "logits": [[...]]}, ...]}.
"""
import importlib.util
import json
import sys


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    spec = importlib.util.spec_from_file_location("hf_reference", argv[1])
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    with open(argv[2], encoding="utf-8") as f:
        jobs = json.load(f)
    results = []
    with ref.torch.no_grad():
        for job in jobs:
            model = ref.load_model(job["dir"], dtype=ref.torch.float32)
            results.append({"dir": job["dir"], "logits": ref._rows(ref.forward(model, job["input"]))})
    json.dump({"results": results}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
