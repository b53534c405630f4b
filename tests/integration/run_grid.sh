#!/bin/bash
# A 2-rank run of a tiny job: every task done, the store complete and readable
# with h5py; the same ids from 1 rank; a rerun redoes nothing; a job that
# changes an existing cell's config is refused. `plan --store` shows each
# task's state in the store and times from the store's speed beforehand.
source "$(dirname "$0")/lib.sh"

"$FEATREUSE" plan "$JOBS/tiny.yaml" --ranks 2 > "$WORK/plan.txt"
grep -q "5 tasks" "$WORK/plan.txt" || fail "plan does not list 5 tasks"

$MPIRUN 2 "$FEATREUSE" run "$JOBS/tiny.yaml" --store "$WORK/a.h5" --strict 2> "$WORK/run.log" ||
  { tail -30 "$WORK/run.log"; fail "2-rank run failed"; }
grep -q "\[r1 g1\] task .* done" "$WORK/run.log" || fail "rank 1 did no task"
grep -q "\[r0 g0\] task .* done" "$WORK/run.log" || fail "rank 0 did no task"
# The last progress line: nothing left, so nothing to wait for (not "ETA ?").
grep "job: 5/5 tasks finished" "$WORK/run.log" | grep -q "ETA 0.0s" ||
  { grep "job: " "$WORK/run.log"; fail "the job's last progress line does not say ETA 0.0s"; }
# OpenBLAS (install-deps.sh makes it libtorch's BLAS) holds to each rank's threads, not every core.
grep -Eq "run .*: 2 ranks in 2 groups of 1, ([0-9]+) threads per rank, OpenBLAS \1( \([^)]*kernels[^)]*\))?," "$WORK/run.log" ||
  { grep "threads per rank" "$WORK/run.log"; fail "OpenBLAS's threads are not the rank's"; }
check_py counts "$WORK/a.h5" 5 0 0
check_py schema "$WORK/a.h5"
for id in $(awk '$3 == "source" || $3 == "cell" {print $2}' "$WORK/plan.txt"); do
  "$PY" -c "import h5py,sys; sys.exit(0 if '$id' in h5py.File('$WORK/a.h5')['cells'] else 1)" ||
    fail "planned id $id not in the store"
done

# The same job on one rank: the same cell ids.
$MPIRUN 1 "$FEATREUSE" run "$JOBS/tiny.yaml" --store "$WORK/b.h5" 2> "$WORK/run1.log" || fail "1-rank run failed"
check_py ids "$WORK/a.h5" "$WORK/b.h5"

# Rerun: everything is done already, nothing is trained again.
check_py snapshot "$WORK/a.h5" "$WORK/snap.json"
$MPIRUN 2 "$FEATREUSE" run "$JOBS/tiny.yaml" --store "$WORK/a.h5" 2> "$WORK/rerun.log" || fail "rerun failed"
grep -q "5 done before (skipped)" "$WORK/rerun.log" || fail "rerun did not skip the done tasks"
check_py unchanged "$WORK/a.h5" "$WORK/snap.json"
"$FEATREUSE" status "$WORK/a.h5" | grep -q "5 tasks: 5 done" || fail "status does not show 5 done"
[ -z "$(ls -A "$WORK/a.h5.progress")" ] || fail "progress files left behind by a finished run"

# plan --store: done tasks, new ones with a time from the done ones' speed.
"$FEATREUSE" plan "$JOBS/tiny.yaml" --store "$WORK/a.h5" > "$WORK/plan_store.txt"
grep -q "against store .*: 5 done, 0 pending, .* 0 new, 0 refused" "$WORK/plan_store.txt" ||
  { cat "$WORK/plan_store.txt"; fail "plan --store does not see the 5 done tasks"; }
sed -e 's/seed: \[0, 1\]/seed: [0, 1, 2]/' -e "s|^configs: .*|configs: $SOURCE_DIR/tests/data/configs|" \
  "$JOBS/tiny.yaml" > "$WORK/more.yaml"
"$FEATREUSE" plan "$WORK/more.yaml" --store "$WORK/a.h5" > "$WORK/plan_more.txt"
grep -q "5 done, .* 2 new, 0 refused" "$WORK/plan_more.txt" || { cat "$WORK/plan_more.txt"; fail "no 2 new tasks"; }
[ "$(awk '$6 == "new" && $7 ~ /s$/' "$WORK/plan_more.txt" | wc -l)" = 2 ] ||
  { cat "$WORK/plan_more.txt"; fail "new tasks have no estimated time"; }
grep -q "estimated time left at the store's speed" "$WORK/plan_more.txt" || fail "no time left estimate"

# Changing an existing cell's config is refused, naming the cell and the change.
sed -e 's/train_size: 256/train_size: 200/' -e "s|^configs: .*|configs: $SOURCE_DIR/tests/data/configs|" \
  "$JOBS/tiny.yaml" > "$WORK/changed.yaml"
if $MPIRUN 2 "$FEATREUSE" run "$WORK/changed.yaml" --store "$WORK/a.h5" 2> "$WORK/changed.log"; then
  fail "a changed config was accepted"
fi
grep -q "changes the config of 5 cells" "$WORK/changed.log" || { cat "$WORK/changed.log"; fail "no refusal message"; }
grep -q "recipe.train_size: 256 -> 200" "$WORK/changed.log" || fail "the refusal does not say what changed"
"$FEATREUSE" plan "$WORK/changed.yaml" --store "$WORK/a.h5" > "$WORK/plan_changed.txt"
grep -q "0 new, 5 refused" "$WORK/plan_changed.txt" && grep -q "run would refuse this job" "$WORK/plan_changed.txt" ||
  { cat "$WORK/plan_changed.txt"; fail "plan --store does not show the refused tasks"; }
check_py unchanged "$WORK/a.h5" "$WORK/snap.json"
echo "PASS run_grid"
