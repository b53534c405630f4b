#!/bin/bash
# All tests on a fresh Debian 12 machine (as root): installs the Debian
# packages, builds, and runs the unit, integration and oracle tests. Then,
# when a CUDA toolkit is present (CUDA_HOME, default /usr/local/cuda) and no
# ctest arguments were given, builds the CUDA variant against PyPI's CUDA
# LibTorch (scripts/build-cuda.sh; compiled and linked, no GPU needed) and
# runs the unit tests with it. FEATREUSE_CUDA_CHECK=0 skips that part.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/install-deps.sh"
bash "$root/scripts/build.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
ctest --test-dir "${BUILD_DIR:-$root/build}" --output-on-failure "$@"

if [ $# -gt 0 ] || [ "${FEATREUSE_CUDA_CHECK:-1}" = 0 ]; then exit 0; fi
if [ ! -x "${CUDA_HOME:-/usr/local/cuda}/bin/nvcc" ]; then
  echo "no CUDA toolkit in ${CUDA_HOME:-/usr/local/cuda}: the CUDA build is not checked here"
  exit 0
fi
cuda_build=${CUDA_BUILD_DIR:-$root/build-cuda}
BUILD_DIR=$cuda_build bash "$root/scripts/build-cuda.sh"
ctest --test-dir "$cuda_build" -L unit --output-on-failure
