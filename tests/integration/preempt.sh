#!/bin/bash
# SIGTERM to the ranks (as Slurm sends before pre-emption): running tasks save
# their training state at the next step and are left pending, the job exits 0,
# and the same command continues them from the saved state and finishes.
# FEATREUSE_RUN_ARGS="--device cuda" runs it on the GPU, PREEMPT_JOB with another
# job (scripts/gpu/check.sh: slow.yaml with ten times the epochs).
source "$(dirname "$0")/lib.sh"
JOB=${PREEMPT_JOB:-$JOBS/slow.yaml}  # scripts/gpu/check.sh: longer tasks, for a GPU

$MPIRUN 2 "$FEATREUSE" run "$JOB" --store "$WORK/p.h5" "${RUN_ARGS[@]}" 2> "$WORK/run.log" &
job=$!
wait_until_done "$WORK/p.h5" 1 || true
pkill -TERM -x featreuse -P $job || fail "no featreuse ranks to signal"
wait $job || { tail -20 "$WORK/run.log"; fail "the job did not exit 0 after SIGTERM"; }
grep -q "stop requested (signal 15)" "$WORK/run.log" || fail "no stop log line"
"$PY" - "$WORK/p.h5" << 'PYEOF'
import sys, h5py
f = h5py.File(sys.argv[1])
recs = [g["record"][()] for g in f["cells"].values()]
interrupted = [r for r in recs if r["status"] == b"pending" and b"interrupted by signal 15" in r["message"]]
assert interrupted, "no task was left pending by the signal"
assert not [r for r in recs if r["status"] in (b"running", b"failed")], "tasks left running or failed"
PYEOF
ls "$WORK/p.h5.resume/"*.h5 > /dev/null 2>&1 || fail "no saved training state beside the store"
$MPIRUN 2 "$FEATREUSE" run "$JOB" --store "$WORK/p.h5" "${RUN_ARGS[@]}" 2> "$WORK/rerun.log" || fail "rerun failed"
grep -q "resuming at step" "$WORK/rerun.log" || fail "the interrupted tasks did not resume from their saved state"
check_py counts "$WORK/p.h5" 5 0 0
[ -z "$(ls -A "$WORK/p.h5.resume")" ] || fail "saved states of finished tasks were not removed"
echo "PASS preempt"
