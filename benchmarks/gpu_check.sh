#!/bin/bash
# The GPU check of the CUDA core, as one run on a machine with an NVIDIA GPU (benchmarks/README.md,
# "GPU"): build, every CUDA kernel against the CPU path, the kernels against torch's CUDA
# equivalents, the warp-part sizes, the 100-layer training step against RevGNN with its kernel
# profile, and leave-one-design-out time to quality on two folds.
#
#   OUT=gpu_out bash benchmarks/gpu_check.sh ZR_STORE DATA_ROOT [QUALITY_CACHE]
#
# ZR_STORE: a store holding CircuitNet zero-riscy-a (benchmarks/results/README.md, "Inputs").
# DATA_ROOT: the folder holding circuitnet/ (gsr-eda bench kernels --data-root).
# QUALITY_CACHE: a folder holding bench_quality.py's proxy.h5 (build/bench_quality after a CPU
# run); without it the time-to-quality step is skipped. Expects torch with CUDA, and the project's
# Python dependencies, installed; CUDA_ARCHITECTURES (default: native) picks the build target.
set -u
store=${1:?usage: gpu_check.sh ZR_STORE DATA_ROOT [QUALITY_CACHE]}
data_root=${2:?usage: gpu_check.sh ZR_STORE DATA_ROOT [QUALITY_CACHE]}
quality_cache=${3:-}
out=${OUT:-gpu_out}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
started=$(date +%s)
step() { echo "[$(($(date +%s) - started)) s] $*"; }

{
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
  python3 -c "import sys, torch; print(sys.version.split()[0], torch.__version__, torch.version.cuda)"
} >"$out/machine.txt" 2>&1

step build
CMAKE_ARGS="-DCMAKE_CUDA_ARCHITECTURES=${CUDA_ARCHITECTURES:-native}" CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) \
  python3 -m pip install --no-build-isolation --no-deps -e . >"$out/build.log" 2>&1 || {
  tail -40 "$out/build.log"
  exit 1
}
gsr_eda=$(python3 -c 'import os, sys; print(os.path.dirname(sys.executable))')/gsr-eda

step "CUDA tests"
timeout 300 python3 -m pytest tests/cuda -m cuda -q -p no:cacheprovider -o addopts="" -rfE 2>&1 |
  tee "$out/cuda_tests.log" | tail -8

step "kernels against torch"
timeout 300 "$gsr_eda" bench kernels --device cuda --data-root "$data_root" --json >"$out/kernels.json"

step "partition sizes"
timeout 120 python3 benchmarks/bench_cuda_parts.py --store "$store" --out "$out/part_cost_sweep.json"

step "100-layer training step"
timeout 600 "$gsr_eda" bench train --store "$store" --device cuda --models gsr,revgnn --layers 100 \
  --hidden 384 --k 4,8,32 --steps 5 --warmup 2 --timeout-s 300 --out "$out/train100" 2>"$out/train100.err" |
  tail -8
timeout 300 "$gsr_eda" bench train --store "$store" --device cuda --models gsr --layers 100 --hidden 384 \
  --k 8 --steps 3 --warmup 1 --profile --out "$out/profile100" >/dev/null 2>&1

if [ -n "$quality_cache" ]; then
  step "time to quality, two folds"
  timeout 900 python3 benchmarks/bench_quality.py --task proxy --configs gsr:16:8 revgnn:16 \
    --tests 7157-zero-riscy-a-1-c2-u0.8-m1-p1-f0 aes_place --device cuda --threads 8 \
    --cache "$quality_cache" --out "$out/quality_lodo_cuda.jsonl" | tail -12
fi
step done
