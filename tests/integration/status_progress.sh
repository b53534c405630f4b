#!/bin/bash
# `status` while a job runs: a running task shows its epoch, percent and ETA
# from the heartbeat its rank keeps beside the store, `--json` gives the same
# to scripts; after kill -9 the task left running is shown as stale.
# (run_grid checks that a finished run leaves no progress files behind.)
source "$(dirname "$0")/lib.sh"
export FEATREUSE_HEARTBEAT_S=0.5  # beat often: the tasks take seconds

setsid $MPIRUN 1 "$FEATREUSE" run "$JOBS/slow.yaml" --store "$WORK/s.h5" 2> "$WORK/run.log" &
job=$!
# Freeze the job while reading, so the kill lands while the task status saw runs.
seen=
for _ in $(seq 1 600); do
  sleep 0.5
  kill -0 $job 2> /dev/null || break
  kill -STOP -- -$job
  if "$FEATREUSE" status "$WORK/s.h5" > "$WORK/status.txt" 2> /dev/null &&
    grep -q "step [0-9]*/[0-9]* ([0-9]*%), ETA" "$WORK/status.txt"; then
    "$FEATREUSE" status "$WORK/s.h5" --json > "$WORK/status.json" || fail "status --json failed"
    kill -9 -- -$job
    seen=1
    break
  fi
  kill -CONT -- -$job
done
[ -n "$seen" ] || { tail -20 "$WORK/run.log"; fail "status never showed a running task's progress"; }
wait $job 2> /dev/null || true
grep -q "left running by a job that died" "$WORK/status.txt" || fail "no running section"
grep -q "heartbeat .* ago" "$WORK/status.txt" || { cat "$WORK/status.txt"; fail "no heartbeat age"; }
# Stale once its (killed) process is reaped, or at the latest after four missed beats plus 10 s.
for _ in $(seq 1 40); do
  "$FEATREUSE" status "$WORK/s.h5" > "$WORK/after.txt"
  grep -q "STALE: no heartbeat for" "$WORK/after.txt" && break
  sleep 0.5
done
"$FEATREUSE" status "$WORK/s.h5" --json > "$WORK/after.json"
grep -q "STALE: no heartbeat for .*: its job died" "$WORK/after.txt" ||
  { cat "$WORK/after.txt"; fail "the task of the killed job is not shown as stale"; }
grep -q "1 of the running tasks are stale" "$WORK/after.txt" || fail "no stale count"
"$PY" - "$WORK/status.json" "$WORK/after.json" << 'PYEOF'
import sys, json
during, after = (json.load(open(p)) for p in sys.argv[1:3])
running = [t for t in during["tasks"] if t["status"] == "running"]
assert len(running) == 1, running
p = running[0]["progress"]
assert p["total_steps"] > 0 and 0 <= p["percent"] <= 100 and p["epoch"] >= 1 and p["epochs"] == 4, p
assert running[0]["stale"] is False and p["seconds_since_heartbeat"] < 10, running[0]
assert during["counts"]["running"] == 1 and during["tasks_total"] == 5, during["counts"]
left = [t for t in after["tasks"] if t["status"] == "running"]
assert len(left) == 1 and left[0]["stale"] is True and after["counts"]["stale"] == 1, left
print("ok: progress", p["step"], "/", p["total_steps"], "then stale")
PYEOF

echo "PASS status_progress"
