#!/bin/bash
# What a user gets wrong on the command line: a missing job file or --store
# is named before the help (exit 2); log levels are accepted in any case and
# an unknown one is refused with the valid names (exit 2), on the command
# line and in FEATREUSE_LOG_LEVEL; an unknown --device or report --format is
# refused, and --device cuda without a GPU stops the run before any task (and
# fid before it reads its inputs);
# --help lists the environment variables.
source "$(dirname "$0")/lib.sh"

expect_usage() {  # message fragment, command...
  local want=$1 rc=0
  shift
  "$@" > "$WORK/out.txt" 2> "$WORK/err.txt" || rc=$?
  [ "$rc" = 2 ] || { cat "$WORK/err.txt"; fail "'$*' exited $rc, not 2"; }
  head -1 "$WORK/err.txt" | grep -qF -- "$want" || { cat "$WORK/err.txt"; fail "'$*': first line lacks '$want'"; }
}
expect_usage "featreuse run: missing JOB" "$FEATREUSE" run --store "$WORK/s.h5"
expect_usage "featreuse run: missing --store" "$FEATREUSE" run "$JOBS/tiny.yaml"
expect_usage "featreuse: missing the command" "$FEATREUSE"
expect_usage "featreuse plan: missing JOB" "$FEATREUSE" plan
expect_usage "featreuse status: missing STORE" "$FEATREUSE" status
expect_usage "featreuse report: missing STORE" "$FEATREUSE" report
# An unknown report format is refused before the store is opened, naming the known ones.
expect_usage "--format: unknown format 'xlsx' (known: text, md, csv, json)" \
  "$FEATREUSE" report "$WORK/none.h5" --format xlsx
expect_usage "featreuse weights export: missing --cell" "$FEATREUSE" weights export "$WORK/s.h5" --out "$WORK/w.pth"
grep -q -- "--store" "$WORK/err.txt" || fail "the help does not follow the missing argument"
expect_usage "featreuse fid: missing the image sets" "$FEATREUSE" fid
expect_usage "featreuse bench train: missing --model" "$FEATREUSE" bench train
expect_usage "--size comes from --dataset" "$FEATREUSE" bench train --model tiny --dataset fmnist_5_9 --size 32

expect_usage "unknown log level 'verbose' (valid: trace, debug, info, warn, error, critical, off)" \
  "$FEATREUSE" run "$JOBS/tiny.yaml" --store "$WORK/s.h5" --log-level verbose
[ ! -e "$WORK/s.h5" ] || fail "a store was created despite the bad log level"
expect_usage "FEATREUSE_LOG_LEVEL: unknown log level 'loud'" env FEATREUSE_LOG_LEVEL=loud "$FEATREUSE" --version
FEATREUSE_LOG_LEVEL=WARNING "$FEATREUSE" --version > /dev/null || fail "FEATREUSE_LOG_LEVEL=WARNING refused"
# INFO is accepted: the run gets past the options and fails on the missing job file instead (exit 2).
rc=0
$MPIRUN 1 "$FEATREUSE" run "$WORK/nojob.yaml" --store "$WORK/s.h5" --log-level INFO 2> "$WORK/err.txt" || rc=$?
[ "$rc" = 2 ] && grep -q "nojob.yaml" "$WORK/err.txt" || { cat "$WORK/err.txt"; fail "--log-level INFO: exit $rc"; }

# Devices: an unknown one is a usage error; --device cuda where no GPU is
# visible stops the run before any task, saying why (exit 1).
expect_usage "run --device: unknown device 'gpu' (known: auto, cpu, cuda)" \
  "$FEATREUSE" run "$JOBS/tiny.yaml" --store "$WORK/s.h5" --device gpu
expect_usage "unknown device 'tpu'" "$FEATREUSE" bench train --model tiny --device tpu
expect_usage "fid --device: unknown device 'gpu'" "$FEATREUSE" fid a.npz b.npz --device gpu
expect_usage "features --device: unknown device 'gpu'" \
  "$FEATREUSE" features --model tiny --weights w.safetensors --input x.npy --out f.h5 --device gpu
if ! nvidia-smi -L > /dev/null 2>&1; then
  rc=0
  "$FEATREUSE" fid a.npz b.npz --device cuda 2> "$WORK/err.txt" || rc=$?
  [ "$rc" = 1 ] && grep -q "no GPU is visible" "$WORK/err.txt" ||
    { cat "$WORK/err.txt"; fail "fid --device cuda without a GPU: exit $rc"; }
  rc=0
  $MPIRUN 2 "$FEATREUSE" run "$JOBS/tiny.yaml" --store "$WORK/gpu.h5" --device cuda 2> "$WORK/err.txt" || rc=$?
  [ "$rc" = 1 ] && grep -q "no GPU is visible" "$WORK/err.txt" ||
    { cat "$WORK/err.txt"; fail "--device cuda without a GPU: exit $rc"; }
  [ ! -e "$WORK/gpu.h5" ] || fail "a store was created although no rank could use its device"
fi

"$FEATREUSE" --help > "$WORK/help.txt"
for var in FEATREUSE_CONFIGS FEATREUSE_DATA FEATREUSE_LOG_LEVEL FEATREUSE_HEARTBEAT_S SLURM_CPUS_PER_TASK; do
  grep -q "$var" "$WORK/help.txt" || fail "--help does not list $var"
  grep -q "$var" "$SOURCE_DIR/docs/environment.md" || fail "docs/environment.md does not describe $var"
done
echo "PASS cli_usage"
