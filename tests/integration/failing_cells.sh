#!/bin/bash
# Cells that fail (missing dataset files; a diverging learning rate) are
# recorded as failed with their reasons, the others finish, the job exits 0;
# --retry-failed runs them again.
source "$(dirname "$0")/lib.sh"

$MPIRUN 2 "$FEATREUSE" run "$JOBS/failing.yaml" --store "$WORK/f.h5" 2> "$WORK/run.log" ||
  { tail -20 "$WORK/run.log"; fail "the job exited non-zero"; }
grep -q "1 done, 3 failed" "$WORK/run.log" || fail "no summary line"
check_py counts "$WORK/f.h5" 1 3 0
check_py message "$WORK/f.h5" "/nonexistent/fashion-mnist/train-labels-idx1-ubyte.gz' does not exist" 2
check_py message "$WORK/f.h5" "training diverged" 1
"$FEATREUSE" status "$WORK/f.h5" > "$WORK/status.txt"
grep -q "1 done, 0 running, 3 failed" "$WORK/status.txt" || fail "status counts"
grep -q "training diverged" "$WORK/status.txt" || fail "status does not show the failure message"

$MPIRUN 2 "$FEATREUSE" run "$JOBS/failing.yaml" --store "$WORK/f.h5" --retry-failed 2> "$WORK/retry.log" ||
  fail "retry run exited non-zero"
grep -q "3 failed before (retrying)" "$WORK/retry.log" || fail "failed tasks were not retried"
check_py counts "$WORK/f.h5" 1 3 0
"$PY" - "$WORK/f.h5" << 'PYEOF'
import sys, h5py, pandas as pd
df = pd.DataFrame(h5py.File(sys.argv[1])["results"][()])
diverged = df[df.message.str.decode("utf-8").str.contains("diverged")]
assert len(diverged) == 1 and diverged.attempts.iloc[0] == 2, diverged[["attempts", "message"]]
PYEOF
echo "PASS failing_cells"
