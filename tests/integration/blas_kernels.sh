#!/bin/bash
# featreuse restarts itself with OpenBLAS kernels the CPU runs when OpenBLAS
# did not know the CPU and fell back to its Prescott kernels, and leaves a
# user's OPENBLAS_CORETYPE alone. OpenBLAS prints the core it loads with
# OPENBLAS_VERBOSE=2 ("Core: NAME"), once per process start.
# Usage: FEATREUSE=BIN blas_kernels.sh (exit 77: skipped, no OpenBLAS)
set -euo pipefail
bin=${FEATREUSE:?FEATREUSE names the featreuse binary}
libraries=$(ldd "$bin")  # not piped into grep -q: its early exit would fail the pipe under pipefail
if ! grep -q openblas <<< "$libraries"; then
  echo "SKIP: featreuse does not load OpenBLAS"
  exit 77
fi
cores_loaded() { env "$@" OPENBLAS_VERBOSE=2 "$bin" --version 2>&1 | sed -n 's/^Core: //p' | tr '\n' ' '; }

loaded=$(cores_loaded)
echo "cores loaded: $loaded"
last=$(echo "$loaded" | awk '{print $NF}')
[[ -n $last ]] || { echo "SKIP: this OpenBLAS does not report its core"; exit 77; }
if grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo && [[ $last == Prescott ]]; then
  echo "FAIL: this CPU runs AVX2 and FMA, and featreuse ran on OpenBLAS's Prescott kernels"
  exit 1
fi
if [[ $(echo "$loaded" | wc -w) -eq 2 ]]; then
  [[ $(echo "$loaded" | awk '{print $1}') == Prescott ]] || { echo "FAIL: restarted though OpenBLAS chose $loaded"; exit 1; }
  echo "restarted once: $loaded"
fi

# The restarted process keeps its name (ps, top and pkill -x featreuse see it).
"$bin" bench train --model resnet_small --batch 8 --size 28 --steps 1000000 --threads 1 > /dev/null 2>&1 &
pid=$!
sleep 2
name=$(cat "/proc/$pid/comm")
kill "$pid"
wait "$pid" || true
echo "process name: $name"
[[ $name == "$(basename "$(readlink -f "$bin")" | cut -c1-15)" ]] || { echo "FAIL: the process is named $name"; exit 1; }

mine=$(cores_loaded OPENBLAS_CORETYPE=Haswell)
echo "with OPENBLAS_CORETYPE=Haswell: $mine"
[[ $mine == "Haswell " ]] || { echo "FAIL: the user's OPENBLAS_CORETYPE=Haswell was not kept: $mine"; exit 1; }
echo "PASS"
