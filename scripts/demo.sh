#!/bin/bash
# The demo study end to end on a fresh Debian 12 machine (as root): installs
# the Debian packages, builds, runs jobs/demo.yaml over `mpirun -np 2` into
# demo.h5 (STORE to change), and prints its results table. Running it again
# resumes: done cells are kept, unfinished ones are redone.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/install-deps.sh"
FEATREUSE_TARGET=featreuse bash "$root/scripts/build.sh"  # the executable only: the tests are test.sh's
store=${STORE:-$root/demo.h5}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpirun -np 2 --oversubscribe --bind-to none "$root/build/src/app/featreuse" run "$root/jobs/demo.yaml" --store "$store"
"$root/build/src/app/featreuse" status "$store"
echo
"$root/build/src/app/featreuse" report "$store"
