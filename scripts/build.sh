#!/bin/bash
# Configures and builds featreuse into BUILD_DIR (default: build); FEATREUSE_TARGET
# builds only that target (e.g. FEATREUSE_TARGET=featreuse: the executable, no tests).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$build" -j "$(nproc)" ${FEATREUSE_TARGET:+--target "$FEATREUSE_TARGET"}
