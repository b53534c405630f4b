#!/bin/bash
# On the CUDA machine: unpacks the Debian packages beside this script into
# /opt/deps and writes /opt/deps/env.sh (CMake, pkg-config and library paths,
# pip torch first; parallel HDF5 in Debian's layout). Fashion-MNIST is linked
# where the configs expect it when the machine has none.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
for f in "$here"/*.deb; do dpkg -x "$f" /opt/deps; done
lib=/opt/deps/usr/lib/x86_64-linux-gnu
torch_cmake=$(python3 -c "import torch; print(torch.utils.cmake_prefix_path)")
cat > /opt/deps/env.sh << ENV
export LD_LIBRARY_PATH=$lib/hdf5/openmpi:$lib:\${LD_LIBRARY_PATH:-}
export CMAKE_PREFIX_PATH="$torch_cmake;/opt/deps/usr;$lib/cmake"
export PKG_CONFIG_PATH=$lib/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=/opt/deps
export FEATREUSE_HDF5_INCLUDE_DIR=/opt/deps/usr/include/hdf5/openmpi
export FEATREUSE_HDF5_LIBRARY=$lib/hdf5/openmpi/libhdf5.so
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
ENV
if [ ! -e /usr/share/datasets/fashion-mnist ] && [ -d /opt/deps/usr/share/datasets/fashion-mnist ]; then
  mkdir -p /usr/share/datasets
  ln -s /opt/deps/usr/share/datasets/fashion-mnist /usr/share/datasets/fashion-mnist
fi
echo "unpacked $(ls "$here"/*.deb | wc -l) packages into /opt/deps; now: source /opt/deps/env.sh"
