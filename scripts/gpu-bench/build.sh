#!/usr/bin/env bash
# Prepares .gpu/ (git-ignored) for a machine that has a GPU but no Node and no npm registry:
# a compressed Node binary, the engine bench bundled into one file, Dawn's Node binding for
# linux-x64, and the PyTorch side. scripts/gpu-bench/run.sh runs there. Run from the repo root.
set -euo pipefail
mkdir -p .gpu/node_modules/webgpu/dist/linux-x64
[ -f .gpu/node.xz ] || xz -T2 -6 -c "$(command -v node)" > .gpu/node.xz
npx rolldown scripts/gpu-bench/entry.ts --file .gpu/bench.mjs --format esm --platform node --external webgpu --no-codeSplitting --minify >/dev/null
cp node_modules/webgpu/package.json node_modules/webgpu/index.js .gpu/node_modules/webgpu/
xz -T2 -6 -c node_modules/webgpu/dist/linux-x64/dawn.node > .gpu/node_modules/webgpu/dist/linux-x64/dawn.node.xz
cp scripts/gpu-bench/torch_gpu_bench.py .gpu/
du -sh .gpu
