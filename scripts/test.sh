#!/bin/bash
# All tests on a fresh Debian 12 machine (as root): installs the Debian
# packages, builds, and runs the unit, integration and oracle tests.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/install-deps.sh"
bash "$root/scripts/build.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
ctest --test-dir "${BUILD_DIR:-$root/build}" --output-on-failure "$@"
