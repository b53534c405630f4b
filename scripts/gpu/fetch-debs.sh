#!/bin/bash
# On a Debian 12 machine with apt, in the project's root: downloads the Debian
# packages a CUDA machine may lack (it has CUDA, NCCL, Open MPI, spdlog and a
# pip torch with CUDA, often not parallel HDF5, yaml-cpp, Boost, nlohmann-json,
# TurboJPEG, libpng, libzip, GDCM, GoogleTest or the demo's Fashion-MNIST) into DIR
# (default .gpu-debs, ignored by git), with unpack.sh beside them. Copy DIR to
# that machine with the checkout; scripts/gpu/check.sh unpacks it there.
set -euo pipefail
dir=${1:-.gpu-debs}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$dir"
apt-get update -qq > /dev/null 2>&1 || true
packages=(
  libhdf5-openmpi-dev libhdf5-openmpi-103-1 libaec0 libsz2 libyaml-cpp-dev libyaml-cpp0.7
  libboost1.74-dev libboost-program-options1.74-dev libboost-program-options1.74.0
  libboost-math1.74-dev libboost-math1.74.0 nlohmann-json3-dev libturbojpeg0-dev libturbojpeg0
  libpng-dev libzip-dev libzip4 libgtest-dev dataset-fashion-mnist
  # GDCM for DICOM (src/data); without libgdcm-tools its CMake config only warns
  libgdcm-dev libgdcm3.0 libcharls2 libopenjp2-7 libsocket++1 libjson-c5
)
(cd "$dir" && apt-get download "${packages[@]}" 2>&1 | grep -v "unsandboxed" || true)
cp "$here/unpack.sh" "$dir/"
du -sh "$dir"
