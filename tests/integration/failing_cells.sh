#!/bin/bash
# Cells that fail (missing dataset files; a diverging learning rate) are
# recorded as failed with their reasons, the others finish, the job exits 0
# and prints the failed count last; --retry-failed runs them again, and
# --strict makes the failures exit code 4.
source "$(dirname "$0")/lib.sh"

$MPIRUN 2 "$FEATREUSE" run "$JOBS/failing.yaml" --store "$WORK/f.h5" > "$WORK/run.out" 2> "$WORK/run.log" ||
  { tail -20 "$WORK/run.log"; fail "the job exited non-zero"; }
grep -q "1 done, 0 pending, of 4 tasks" "$WORK/run.out" || fail "no summary line"
tail -1 "$WORK/run.out" | grep -q "^3 failed (featreuse status" || fail "the failed count is not last: $(tail -1 "$WORK/run.out")"
check_py counts "$WORK/f.h5" 1 3 0
check_py message "$WORK/f.h5" "/nonexistent/fashion-mnist/train-labels-idx1-ubyte.gz' does not exist" 2
check_py message "$WORK/f.h5" "training diverged" 1
"$FEATREUSE" status "$WORK/f.h5" > "$WORK/status.txt"
grep -q "1 done, 0 running, 3 failed" "$WORK/status.txt" || fail "status counts"
grep -q "training diverged" "$WORK/status.txt" || fail "status does not show the failure message"

rc=0
$MPIRUN 2 "$FEATREUSE" run "$JOBS/failing.yaml" --store "$WORK/f.h5" --retry-failed --strict \
  > "$WORK/retry.out" 2> "$WORK/retry.log" || rc=$?
[ "$rc" = 4 ] || { tail -20 "$WORK/retry.log"; fail "--strict with failed tasks exited $rc, not 4"; }
grep -q "3 failed before (retrying)" "$WORK/retry.log" || fail "failed tasks were not retried"
check_py counts "$WORK/f.h5" 1 3 0
"$PY" - "$WORK/f.h5" << 'PYEOF'
import sys, h5py, pandas as pd
df = pd.DataFrame(h5py.File(sys.argv[1])["results"][()])
diverged = df[df.message.str.decode("utf-8").str.contains("diverged")]
assert len(diverged) == 1 and diverged.attempts.iloc[0] == 2, diverged[["attempts", "message"]]
PYEOF
echo "PASS failing_cells"
