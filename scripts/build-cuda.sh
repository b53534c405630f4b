#!/bin/bash
# Configures and builds the CUDA variant of featreuse into BUILD_DIR (default:
# build-cuda) against PyPI's CUDA LibTorch (scripts/install-cuda-libtorch.sh)
# and the CUDA toolkit in CUDA_HOME (default /usr/local/cuda). NCCL comes with
# that LibTorch. It compiles and links without a GPU; the CPU tests run with it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
torch_prefix=$(bash "$root/scripts/install-cuda-libtorch.sh")
cuda_home=${CUDA_HOME:-/usr/local/cuda}
BUILD_DIR=${BUILD_DIR:-$root/build-cuda} bash "$root/scripts/build.sh" \
  -DCMAKE_PREFIX_PATH="$torch_prefix" -DCMAKE_CUDA_COMPILER="$cuda_home/bin/nvcc" "$@"
