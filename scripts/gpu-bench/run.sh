#!/usr/bin/env bash
# Runs on the GPU machine (prepared by build.sh): our engine on webgpu and on the native CPU
# backend, and PyTorch on the same GPU, at bert-mini and bert-base shapes, batch 16 x 128.
# Every line of output goes to $OUT/gpu-bench.log; JSON lines are the figures.
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
exec > >(tee "$OUT/gpu-bench.log") 2>&1
if [ -d .gl ]; then for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig; fi
ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$ICD" ] && export VK_DRIVER_FILES=$ICD
EGLV=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
[ -f "$EGLV" ] && export __EGL_VENDOR_LIBRARY_FILENAMES=$EGLV
echo "== machine"; nvidia-smi -L; nproc; ls /usr/local/nvidia/share/vulkan/icd.d 2>&1; ldconfig -p | grep -c libvulkan
mkdir -p /tmp/node && xz -dc .gpu/node.xz > /tmp/node/node && chmod +x /tmp/node/node
xz -dkf .gpu/node_modules/webgpu/dist/linux-x64/dawn.node.xz
N=/tmp/node/node
run() { echo "== $*"; timeout "${T:-240}" "$@" 2>&1 | grep -v '^Warning\|artificially reduced' ; }
T=90 run $N .gpu/bench.mjs --backend webgpu --shape bert-mini --steps 10 --warmup 3
T=150 run $N .gpu/bench.mjs --backend webgpu --shape bert-base --steps 5 --warmup 2
T=50  run python3 .gpu/torch_gpu_bench.py --shape bert-mini --steps 20
T=70  run python3 .gpu/torch_gpu_bench.py --shape bert-base --steps 10
T=60  run $N .gpu/bench.mjs --backend native --shape bert-mini --steps 3 --warmup 1
T=110 run $N .gpu/bench.mjs --backend native --shape bert-base --steps 2 --warmup 1
echo "== done"
