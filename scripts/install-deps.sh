#!/bin/bash
# Installs every Debian 12 package featreuse needs to build, run the demo and
# run its tests (as root). Idempotent.
set -euo pipefail
packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git clang-format
  # libraries
  libtorch-dev libopenblas0-openmp libopenmpi-dev openmpi-bin libhdf5-openmpi-dev hdf5-tools
  libspdlog-dev libfmt-dev libyaml-cpp-dev libboost-program-options-dev libboost-math-dev nlohmann-json3-dev
  zlib1g-dev libzip-dev libturbojpeg0-dev libpng-dev libgtest-dev
  # DICOM (CBIS-DDSM): GDCM; its CMake config names the tools' executables
  libgdcm-dev libgdcm-tools
  # the demo's data
  dataset-fashion-mnist
  # Python oracles and post-hoc analysis (run with /usr/bin/python3)
  python3-torch python3-torchvision python3-h5py python3-sklearn python3-numpy python3-pandas python3-pil
  python3-matplotlib python3-scipy python3-yaml python3-pip python3-pytest python3-pydicom
  # a private single-node Slurm for the sbatch/requeue test (its daemons are
  # started and stopped by the test, with a configuration of its own)
  slurmctld slurmd slurm-client munge
  # the aimed kills stop a rank inside a store write with gdb (tests/integration/aimed_kill.sh)
  gdb
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# Debian's libtorch uses whatever libblas.so.3 and liblapack.so.3 point to:
# make them OpenBLAS (reference BLAS makes linear layers ~10x slower), and its
# OpenMP build, whose threads are ATen's own OpenMP threads. The pthread build
# keeps a second pool that fights ATen's spinning OpenMP workers for the cores:
# with 2 threads a small ViT trained 3x slower (docs/performance.md).
openblas=/usr/lib/x86_64-linux-gnu/openblas-openmp
for lib in libblas.so.3 liblapack.so.3 libopenblas.so.0; do
  if [ -e "$openblas/$lib" ]; then
    update-alternatives --set "$lib-x86_64-linux-gnu" "$openblas/$lib" > /dev/null
  fi
done
# pytorch-fid and timm (not packaged by Debian) for the FID and timm oracle
# tests: pure Python, their dependencies are the Debian packages above
# (timm's optional huggingface_hub and safetensors are not needed), installed
# once outside the clone. CMake finds them there (FEATREUSE_PYTHON_PACKAGES).
python_packages=${FEATREUSE_PYTHON_PACKAGES:-/opt/featreuse/python}
for spec in pytorch_fid:pytorch-fid==0.3.0 timm:timm==0.9.16; do
  if [ ! -d "$python_packages/${spec%%:*}" ]; then
    /usr/bin/python3 -m pip install -q --no-deps --disable-pip-version-check --root-user-action=ignore \
      --target "$python_packages" "${spec#*:}"
  fi
done
