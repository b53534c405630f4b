#!/bin/bash
# Installs the CUDA LibTorch of PyPI's `torch` wheel (with the nvidia-* wheels
# it loads: cuDNN, cuBLAS, NCCL, ...) once into a folder outside the clone
# (FEATREUSE_CUDA_TORCH, default /opt/featreuse/torch-cuda; ~4.6 GB) and prints
# the CMake prefix of its LibTorch. Reused when present. Nothing of it needs a GPU
# to install, compile or link against.
set -euo pipefail
dest=${FEATREUSE_CUDA_TORCH:-/opt/featreuse/torch-cuda}
version=${FEATREUSE_CUDA_TORCH_VERSION:-2.11.0}
config="$dest/torch/share/cmake/Torch/TorchConfig.cmake"
if [ ! -f "$config" ]; then
  # Into a side folder first: an interrupted install is never taken for a whole one.
  partial="$dest.partial"
  rm -rf "$partial"
  echo "installing torch==$version (CUDA LibTorch) into $dest" >&2
  /usr/bin/python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore \
    --target "$partial" "torch==$version" >&2
  rm -rf "$dest"
  mv "$partial" "$dest"
fi
echo "$dest/torch/share/cmake"
