#!/usr/bin/env python3
"""PyTorch on the GPU for the same shapes and step as the engine's webgpu bench (issue 13):
forward, cross-entropy, backward, grad-norm clip 1.0, AdamW; samples/s at batch x seq.

    python3 torch_gpu_bench.py --shape bert-mini|bert-base [--batch 16 --seq 128 --steps 20]

Prints one JSON line per precision mode: fp32 with TF32 off (the engine's arithmetic), PyTorch's
default, and bf16 autocast. Needs torch with CUDA and transformers (the device image has both).
"""
import argparse, json, time
import torch
from transformers import BertConfig, BertForSequenceClassification

SHAPES = {
    "bert-mini": dict(num_hidden_layers=4, hidden_size=256, num_attention_heads=4, intermediate_size=1024),
    "bert-base": dict(num_hidden_layers=12, hidden_size=768, num_attention_heads=12, intermediate_size=3072),
}


def run(shape, batch, seq, steps, mode):
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=30522, num_labels=4, attn_implementation="eager", **SHAPES[shape])
    model = BertForSequenceClassification(cfg).cuda().train()
    decay = [p for n, p in model.named_parameters() if not (n.endswith("bias") or "LayerNorm" in n)]
    no_decay = [p for n, p in model.named_parameters() if n.endswith("bias") or "LayerNorm" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}], lr=2e-5)
    ids = torch.randint(0, 30522, (batch, seq), device="cuda")
    mask = torch.ones_like(ids)
    labels = torch.randint(0, 4, (batch,), device="cuda")
    torch.backends.cuda.matmul.allow_tf32 = mode == "default-tf32"
    torch.backends.cudnn.allow_tf32 = mode != "fp32"

    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=mode == "bf16"):
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    for _ in range(3):
        step()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    return {"engine": "pytorch", "shape": shape, "mode": mode, "batch": batch, "seq": seq, "steps": steps,
            "train_samples_per_s": round(batch * steps / dt, 1), "device": torch.cuda.get_device_name(0), "torch": torch.__version__}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--shape", default="bert-mini", choices=list(SHAPES))
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--steps", type=int, default=20)
    a = p.parse_args()
    for mode in ("fp32", "default-tf32", "bf16"):
        print(json.dumps(run(a.shape, a.batch, a.seq, a.steps, mode)), flush=True)


if __name__ == "__main__":
    main()
