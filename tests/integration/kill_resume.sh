#!/bin/bash
# kill -9 of the whole job part-way, then the same command again: it
# completes, the store opens in h5py, and tasks done before the kill keep
# their data bit for bit (and are not run again). `status` works while the
# job runs.
source "$(dirname "$0")/lib.sh"

setsid $MPIRUN 2 "$FEATREUSE" run "$JOBS/long.yaml" --store "$WORK/s.h5" 2> "$WORK/run.log" &
job=$!
# Freeze the job (SIGSTOP to mpirun and every rank) before reading its
# status, so the store cannot change between what status shows and the
# kill: the kill then lands at a moment known to have >= 3 tasks done and
# one running (a rank between two tasks has none running for a few ms).
done_count=0
killed=
for _ in $(seq 1 600); do
  sleep 0.5
  kill -0 $job 2> /dev/null || fail "the job ended before it could be killed"
  signal_job STOP "$WORK/s.h5"
  if out=$("$FEATREUSE" status "$WORK/s.h5" 2> /dev/null); then
    done_count=$(echo "$out" | sed -n 's/.* tasks: \([0-9]*\) done.*/\1/p')
    if [ "${done_count:-0}" -ge 3 ] && echo "$out" | grep -q "left running by a job that died"; then
      signal_job KILL "$WORK/s.h5"
      killed=1
      break
    fi
  fi
  signal_job CONT "$WORK/s.h5"
done
[ -n "$killed" ] || fail "no moment with 3 tasks done and one running to kill"
wait $job 2> /dev/null || true
echo "killed with $done_count tasks done"

check_py snapshot "$WORK/s.h5" "$WORK/snap.json"
"$FEATREUSE" status "$WORK/s.h5" > "$WORK/status.txt" || fail "status after the kill failed"
grep -q "left running by a job that died" "$WORK/status.txt" || fail "status shows no task left running"

# With --max-attempts 1 the task the kill cut off has used its one attempt:
# it is failed with the reason (and what depends on it is not run); then
# --retry-failed runs it again and the job completes.
$MPIRUN 2 "$FEATREUSE" run "$JOBS/long.yaml" --store "$WORK/s.h5" --max-attempts 1 2> "$WORK/bounded.log" ||
  { tail -20 "$WORK/bounded.log"; fail "rerun with --max-attempts 1 failed"; }
"$PY" - "$WORK/s.h5" << 'PYEOF' || fail "--max-attempts 1 did not fail the task the kill cut off"
import sys, h5py
f = h5py.File(sys.argv[1])
recs = {k: g["record"][()] for k, g in f["cells"].items()}
died = [k for k, r in recs.items() if r["status"] == b"failed" and b"died during each of its 1 attempts" in r["message"]]
assert len(died) >= 1, {k: (r["status"], r["message"][:80]) for k, r in recs.items()}
assert not [k for k, r in recs.items() if r["status"] in (b"running", b"pending")], "tasks left unfinished"
PYEOF
$MPIRUN 2 "$FEATREUSE" run "$JOBS/long.yaml" --store "$WORK/s.h5" --retry-failed 2> "$WORK/rerun.log" ||
  { tail -20 "$WORK/rerun.log"; fail "rerun after the kill failed"; }
check_py counts "$WORK/s.h5" 13 0 0
check_py unchanged "$WORK/s.h5" "$WORK/snap.json"
check_py schema "$WORK/s.h5"
echo "PASS kill_resume"
