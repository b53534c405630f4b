#!/bin/bash
# The one GPU check, for a CUDA machine with a pip torch (see docs/gpu.md):
# builds featreuse against that torch's LibTorch, runs the unit tests, a
# data-parallel run on the GPU(s) (NCCL), the analyses on the GPU against the
# same analyses on the CPU, and the GPU benchmark against the
# same machine's PyTorch, writing every output under OUT (default out/gpu)
# and a summary (OUT/summary.txt) to paste into docs/performance.md.
# Usage: bash scripts/gpu/check.sh [OUT]     (time: ~10 min on 16 cores)
# BUDGET_S=N: steps that would start after N seconds are skipped (and said
# so), the most telling first: the program's build, the GPU step, a study,
# CUDA graphs, pre-emption and resume on the GPU, analyses GPU against CPU,
# NCCL groups, the benchmark (STEPS timed steps per run, default 50), the
# paper's architectures with every analysis (scripts/rehearse_paper.sh), the
# unit tests (which CI also runs, on CPUs). For a lent
# machine with minutes of device time: docs/gpu.md, "The GPU check".
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mkdir -p "${1:-${OUT:-$root/out/gpu}}" && cd "${1:-${OUT:-$root/out/gpu}}" && pwd)
build=${BUILD_DIR:-$root/build-gpu}
say() { echo "== $*" | tee -a "$out/summary.txt"; }
budget=${BUDGET_S:-0}
step() { # NAME COMMAND...: runs it into OUT/NAME.txt, says how it ended
  local name=$1 start=$SECONDS
  shift
  if [ "$budget" -gt 0 ] && [ "$SECONDS" -ge "$budget" ]; then
    say "$name: skipped (${SECONDS} s, past BUDGET_S=$budget)"
    return 1
  fi
  if "$@" > "$out/$name.txt" 2>&1; then
    say "$name: ok ($((SECONDS - start)) s)"
  else
    say "$name: FAILED ($((SECONDS - start)) s), last lines:"
    tail -30 "$out/$name.txt" | tee -a "$out/summary.txt"
    return 1
  fi
}
: > "$out/summary.txt"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$out/summary.txt"
gpus=$(nvidia-smi -L | wc -l)

if [ -f "$root/.gpu-debs/unpack.sh" ]; then bash "$root/.gpu-debs/unpack.sh" > "$out/unpack.txt" 2>&1; fi
if [ -f /opt/deps/env.sh ]; then source /opt/deps/env.sh; fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
torch_cmake=$(python3 -c "import torch; print(torch.utils.cmake_prefix_path)")
python3 -c "import torch; print('torch', torch.__version__, 'CUDA', torch.version.cuda)" | tee -a "$out/summary.txt"

step configure cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$torch_cmake;${CMAKE_PREFIX_PATH:-}" || exit 1
# The program first (the tests' own objects are built last, for the unit tests).
step build cmake --build "$build" -j "$(nproc)" --target featreuse || exit 1
featreuse=$build/src/app/featreuse
grep -q "NCCL from" "$out/configure.txt" || say "configure found no NCCL: groups on GPUs are refused"

# The trainer on the GPU, fp32 and bf16, then a study on it: 1 rank (an NCCL
# group of 1), and a group of 2 when two GPUs exist.
step gpu_step_fp32 "$featreuse" bench train --model resnet_small --device cuda --steps 20
step gpu_step_bf16 "$featreuse" bench train --model deit_micro --device cuda --amp --steps 20
jobs=$root/tests/integration/jobs
step run_gpu mpirun -np 1 "$featreuse" run "$jobs/data_parallel.yaml" --store "$out/gpu.h5" --device cuda --strict
step status_gpu "$featreuse" status "$out/gpu.h5"
# The same cells with the step replayed as CUDA graphs: the same training up
# to float rounding (a ViT without dropout: no random masks to differ).
sed -e "s#^configs: .*#configs: $root/tests/data/configs#" \
  -e 's#^  recipe: {#  recipe: {cuda_graphs: true, #' "$jobs/data_parallel.yaml" > "$out/graphed.yaml"
step gpu_step_graphs "$featreuse" bench train --model deit_micro --device cuda --amp --cuda-graphs --steps 20
step run_gpu_graphs mpirun -np 1 "$featreuse" run "$out/graphed.yaml" --store "$out/graphed.h5" --device cuda \
  --strict &&
  "$featreuse" report "$out/gpu.h5" --format json > "$out/eager_report.json" &&
  "$featreuse" report "$out/graphed.h5" --format json > "$out/graphed_report.json" &&
  step graphs_vs_eager python3 "$root/scripts/gpu/compare_reports.py" "$out/eager_report.json" \
    "$out/graphed_report.json" &&
  tee -a "$out/summary.txt" < "$out/graphs_vs_eager.txt"
# Pre-emption on the GPU: SIGTERM mid-task saves the training state (model,
# optimiser, the GPU's generator), the rerun resumes and finishes.
# slow.yaml's tasks take seconds on CPU cores: ten times the epochs on a GPU.
sed -e "s#^configs: .*#configs: $root/tests/data/configs#" -e 's#epochs: 4,#epochs: 40,#' \
  -e 's#log_every: 8#log_every: 80#' "$jobs/slow.yaml" > "$out/slow_gpu.yaml"
step preempt_gpu env FEATREUSE="$featreuse" FEATREUSE_SOURCE_DIR="$root" FEATREUSE_RUN_ARGS="--device cuda" \
  PREEMPT_JOB="$out/slow_gpu.yaml" \
  bash "$root/tests/integration/preempt.sh"
# The cells of the analyses job trained on the GPU, then its analyses in two
# copies of that store, on the GPU and on the CPU: the two reports agree up to
# a test image or two and float32 rounding.
sed "s#^configs: .*#configs: $root/tests/data/configs#" "$jobs/analyses.yaml" > "$out/analyses.yaml"
sed '/^analyses:/,$d' "$out/analyses.yaml" > "$out/analyses_grid_only.yaml"
step analysed_cells "$featreuse" run "$out/analyses_grid_only.yaml" --store "$out/analyses_gpu.h5" \
  --device cuda --strict &&
  cp "$out/analyses_gpu.h5" "$out/analyses_cpu.h5" &&
  step analyses_gpu "$featreuse" run "$out/analyses.yaml" --store "$out/analyses_gpu.h5" \
    --device cuda --strict &&
  step analyses_cpu "$featreuse" run "$out/analyses.yaml" --store "$out/analyses_cpu.h5" --device cpu --strict &&
  "$featreuse" report "$out/analyses_gpu.h5" --format json > "$out/analyses_gpu.json" &&
  "$featreuse" report "$out/analyses_cpu.h5" --format json > "$out/analyses_cpu.json" &&
  step analyses_gpu_vs_cpu python3 "$root/scripts/gpu/compare_reports.py" "$out/analyses_gpu.json" \
    "$out/analyses_cpu.json" &&
  tee -a "$out/summary.txt" < "$out/analyses_gpu_vs_cpu.txt"
if [ "$gpus" -ge 2 ]; then
  step run_nccl_group mpirun -np 2 "$featreuse" run "$jobs/data_parallel.yaml" --store "$out/group.h5" \
    --device cuda --ranks-per-task 2 --strict
  # The group's default averages during backward (overlapped); after-backward for the comparison;
  # then two cells side by side, a GPU each (two groups of one).
  step scaling bash -c "mpirun -np 1 $featreuse bench train --model resnet50 --device cuda --amp --json; \
    mpirun -np 2 $featreuse bench train --model resnet50 --device cuda --amp --json; \
    mpirun -np 2 $featreuse bench train --model resnet50 --device cuda --amp --json --allreduce after-backward; \
    mpirun -np 2 $featreuse bench train --model resnet50 --device cuda --amp --json --ranks-per-task 1"
  step run_nccl_after_backward mpirun -np 2 "$featreuse" run "$jobs/data_parallel.yaml" \
    --store "$out/group_after.h5" --device cuda --ranks-per-task 2 --allreduce after-backward --strict
fi
step benchmark bash "$root/benchmarks/train_gpu.sh" "$featreuse" &&
  tee -a "$out/summary.txt" < "$out/benchmark.txt"
# The paper's four architectures at 224 px through training and every analysis on the GPU
# (synthetic data; scripts/rehearse_paper.sh), then report and figures where Python can draw them.
# Its store (2.3 GB) stays beside the build; its log, report and figures come to OUT.
step rehearsal env RANKS="$gpus" FEATREUSE="$featreuse" PYTHON=python3 \
  bash "$root/scripts/rehearse_paper.sh" "$build/rehearsal" --device cuda
grep "rehearsal:" "$out/rehearsal.txt" 2> /dev/null | tee -a "$out/summary.txt"
mkdir -p "$out/rehearsal" && cp -r "$build/rehearsal"/{run.log,report.txt,figures} "$out/rehearsal/" 2> /dev/null
step build_tests cmake --build "$build" -j "$(nproc)" &&
  step unit_tests ctest --test-dir "$build" -L unit -j 8 --output-on-failure
say "outputs in $out"
