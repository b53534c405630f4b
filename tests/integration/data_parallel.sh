#!/bin/bash
# Data-parallel groups on CPU (MPI allreduce): a group of 2 ranks trains a
# cell as 1 rank does with the same global batch; 4 ranks as 2 groups of 2
# run a grid into one store; a rank killed inside a group (averaging during
# backward) ends the job and the rerun finishes it with every done task
# intact; a pre-empted group resumes on both ranks.
source "$(dirname "$0")/lib.sh"

# 1. One rank against one group of two, same job. The group's gradient is
# the mean of two half-batch means, the single rank's the mean of the whole
# batch: equal in exact arithmetic, in float32 they differ by rounding
# (~1e-7 relative per step); after 16 steps the weights differed by 1.5e-6
# of the largest weight when this test was written: 1e-4 leaves room for
# other BLAS builds.
$MPIRUN 1 "$FEATREUSE" run "$JOBS/data_parallel.yaml" --store "$WORK/one.h5" 2> "$WORK/one.log" ||
  { tail -20 "$WORK/one.log"; fail "the single-rank run failed"; }
# Overlapped in 10 KB buckets: the group's averages run during backward, many
# buckets at once (on CPU ranks the default averages after backward).
$MPIRUN 2 "$FEATREUSE" run "$JOBS/data_parallel.yaml" --store "$WORK/group.h5" --ranks-per-task 2 \
  --allreduce overlapped --bucket-mb 0.01 2> "$WORK/group.log" || { tail -20 "$WORK/group.log"; fail "the 2-rank group run failed"; }
grep -q "1 groups of 2" "$WORK/group.log" || fail "the run did not form one group of 2"
grep -q "groups average gradients over MPI, during backward, 10.24 KB buckets" "$WORK/group.log" ||
  fail "the run does not say how its group averages: $(grep -m1 'average' "$WORK/group.log")"
check_py counts "$WORK/group.h5" 2 0 0
check_py same_training "$WORK/group.h5" "$WORK/one.h5" 1e-4

# 1a. The group above averaged each gradient bucket while backward ran;
# averaging after backward, in one bucket, sums the same two numbers per
# element, so the two stores agree bit for bit.
$MPIRUN 2 "$FEATREUSE" run "$JOBS/data_parallel.yaml" --store "$WORK/after.h5" --ranks-per-task 2 \
  --allreduce after-backward 2> "$WORK/after.log" ||
  { tail -20 "$WORK/after.log"; fail "the 2-rank group run averaging after backward failed"; }
check_py same_training "$WORK/group.h5" "$WORK/after.h5" 0
grep -q "groups average gradients over MPI, after backward, 25 MB buckets" "$WORK/after.log" ||
  fail "the run does not say how its group averages: $(grep -m1 'average' "$WORK/after.log")"
"$FEATREUSE" run "$JOBS/data_parallel.yaml" --store "$WORK/bad.h5" --allreduce async 2> "$WORK/bad.log" &&
  fail "--allreduce async was accepted"
grep -q "overlapped" "$WORK/bad.log" || { cat "$WORK/bad.log"; fail "--allreduce async: the error does not name the choices"; }
"$FEATREUSE" run "$JOBS/data_parallel.yaml" --store "$WORK/bad.h5" --bucket-mb 0 2> "$WORK/bad.log" &&
  fail "--bucket-mb 0 was accepted"
grep -q -- "--bucket-mb 0" "$WORK/bad.log" || { cat "$WORK/bad.log"; fail "--bucket-mb 0: the error does not name the flag"; }
[ ! -e "$WORK/bad.h5" ] || fail "a refused run created its store"

# A batch the group cannot split is refused for the task, naming the sizes.
$MPIRUN 3 "$FEATREUSE" run "$JOBS/data_parallel.yaml" --store "$WORK/three.h5" --ranks-per-task 3 \
  2> "$WORK/three.log" || true
grep -q "cannot be split over a group of 3 ranks" "$WORK/three.log" || fail "a batch of 32 over 3 ranks was not refused"

# 1b. Only training is data-parallel: a group's ST draw and analysis run on its
# leader alone (4 tasks: 2 training ones started on both ranks, 2 on rank 0).
$MPIRUN 2 "$FEATREUSE" run "$JOBS/group_tasks.yaml" --store "$WORK/kinds.h5" --ranks-per-task 2 \
  2> "$WORK/kinds.log" || { tail -20 "$WORK/kinds.log"; fail "the group run of every task kind failed"; }
check_py counts "$WORK/kinds.h5" 4 0 0
starts=$(grep -c " start: " "$WORK/kinds.log")
member_starts=$(grep " start: " "$WORK/kinds.log" | grep -c "\[r1 ")
[ "$starts" -eq 6 ] && [ "$member_starts" -eq 2 ] ||
  { grep " start: " "$WORK/kinds.log"; fail "expected 6 task starts, 2 of them on rank 1; got $starts and $member_starts"; }

# 2. Four ranks as two groups of two (BatchNorm model, transfer cells).
$MPIRUN 4 "$FEATREUSE" run "$JOBS/long.yaml" --store "$WORK/four.h5" --ranks-per-task 2 2> "$WORK/four.log" ||
  { tail -20 "$WORK/four.log"; fail "4 ranks in 2 groups failed"; }
grep -q "2 groups of 2" "$WORK/four.log" || fail "the run did not form two groups of 2"
check_py counts "$WORK/four.h5" 13 0 0
check_py schema "$WORK/four.h5"

# 3. kill -9 of the second rank of a group while it trains. The job is
# frozen (SIGSTOP) while status is read, so the kill lands mid-study. The
# group averages while backward runs (many nonblocking allreduces in flight:
# rank_kill.sh kills a group that averages after backward).
setsid $MPIRUN 2 "$FEATREUSE" run "$JOBS/long.yaml" --store "$WORK/kill.h5" --ranks-per-task 2 \
  --allreduce overlapped --bucket-mb 0.01 2> "$WORK/kill.log" &
job=$!
member=
for _ in $(seq 1 600); do
  sleep 0.3
  kill -0 $job 2> /dev/null || fail "the job ended before a rank could be killed"
  signal_job STOP "$WORK/kill.h5"
  out=$("$FEATREUSE" status "$WORK/kill.h5" 2> /dev/null || true)
  done_count=$(echo "$out" | sed -n 's/.* tasks: \([0-9]*\) done.*/\1/p')
  if [ "${done_count:-0}" -ge 3 ] && echo "$out" | grep -q "left running by a job that died"; then
    for pid in $(job_pids "$WORK/kill.h5"); do
      if tr '\0' '\n' < /proc/$pid/environ 2> /dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1"; then member=$pid; fi
    done
    [ -n "$member" ] && break
  fi
  signal_job CONT "$WORK/kill.h5"
done
[ -n "$member" ] || fail "no group member to kill"
kill -9 "$member"
signal_job CONT "$WORK/kill.h5"
ends_within $job "$WORK/kill.h5" 60 || fail "the job hung after a group member was killed"
wait $job 2> /dev/null || true
echo "killed group member $member with $done_count tasks done"
check_py snapshot "$WORK/kill.h5" "$WORK/snap.json"
$MPIRUN 2 "$FEATREUSE" run "$JOBS/long.yaml" --store "$WORK/kill.h5" --ranks-per-task 2 2> "$WORK/rerun.log" ||
  { tail -20 "$WORK/rerun.log"; fail "the rerun after the kill failed"; }
check_py counts "$WORK/kill.h5" 13 0 0
check_py unchanged "$WORK/kill.h5" "$WORK/snap.json"

# 4. SIGTERM (pre-emption) of a group: both ranks stop at the same step, the
# leader saves the state, and both resume from it in the rerun.
$MPIRUN 2 "$FEATREUSE" run "$JOBS/slow.yaml" --store "$WORK/p.h5" --ranks-per-task 2 2> "$WORK/p.log" &
job=$!
wait_until_done "$WORK/p.h5" 1 || true
pkill -TERM -x featreuse -P $job || fail "no featreuse ranks to signal"
wait $job || { tail -20 "$WORK/p.log"; fail "the group did not exit 0 after SIGTERM"; }
"$PY" - "$WORK/p.h5" << 'PYEOF'
import sys, h5py
recs = [g["record"][()] for g in h5py.File(sys.argv[1])["cells"].values()]
assert [r for r in recs if r["status"] == b"pending" and b"interrupted by signal 15" in r["message"]], \
    "no task was left pending by the signal"
assert not [r for r in recs if r["status"] in (b"running", b"failed")], "tasks left running or failed"
PYEOF
$MPIRUN 2 "$FEATREUSE" run "$JOBS/slow.yaml" --store "$WORK/p.h5" --ranks-per-task 2 2> "$WORK/p2.log" ||
  { tail -20 "$WORK/p2.log"; fail "the rerun after SIGTERM failed"; }
[ "$(grep -c "resuming at step" "$WORK/p2.log")" -ge 2 ] || fail "the group's ranks did not both resume"
check_py counts "$WORK/p.h5" 5 0 0
echo "PASS data_parallel"
