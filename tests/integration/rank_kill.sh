#!/bin/bash
# kill -9 of one rank while the other runs (docs/reliability.md): the job ends
# (Open MPI stops the other rank; nothing hangs), the store opens in h5py,
# and the same command then redoes only what was not done: the tasks done
# before the kill are unchanged bit for bit and the study ends complete.
# The last case kills the leader of a data-parallel group (--ranks-per-task 2:
# rank 0 writes the store and the training states while rank 1 waits in the
# group's allreduce); that study must also end bit-identical to an
# uninterrupted run of the group. (data_parallel.sh kills the group's member.)
source "$(dirname "$0")/lib.sh"

# A copy of the configs: the job reads the same ones in both runs.
cp -r "$SOURCE_DIR/tests/data/configs" "$WORK/configs"
sed -e "s|^configs: .*|configs: $WORK/configs|" "$JOBS/long.yaml" > "$WORK/job.yaml"

GROUP="--ranks-per-task 2"
$MPIRUN 2 "$FEATREUSE" run "$WORK/job.yaml" --store "$WORK/group_reference.h5" $GROUP > /dev/null \
  2> "$WORK/reference.log" || { tail -20 "$WORK/reference.log"; fail "the uninterrupted group run failed"; }

# A rank that only trains, then rank 0 (the coordinator), then the group's leader.
for case in "1" "0" "0 $GROUP"; do
  read -r victim extra <<< "$case"
  rm -rf "$WORK/s.h5" "$WORK/s.h5".*
  # shellcheck disable=SC2086 # $extra: the group's options, or none
  $MPIRUN 2 "$FEATREUSE" run "$WORK/job.yaml" --store "$WORK/s.h5" $extra > /dev/null 2> "$WORK/run.log" &
  job=$!
  wait_until_done "$WORK/s.h5" 3 || fail "the job never had 3 tasks done"
  # The rank's process: a child of mpirun whose environment names its rank.
  pid=
  for p in $(pgrep -P $job -f "featreuse run"); do
    tr '\0' '\n' < /proc/$p/environ | grep -qx "OMPI_COMM_WORLD_RANK=$victim" && pid=$p
  done
  [ -n "$pid" ] || fail "no rank $victim process under mpirun $job"
  check_py snapshot "$WORK/s.h5" "$WORK/snap.json" > /dev/null
  kill -KILL "$pid"
  killed_at=$(date +%s.%N)
  # No hang: mpirun must end within a minute of losing a rank.
  ends_within $job "$WORK/s.h5" 60 || fail "the job hung after rank $victim was killed"
  rc=0
  wait $job || rc=$?
  [ $rc != 0 ] || fail "the job exited 0 after losing rank $victim"
  echo "rank $victim${extra:+ ($extra)} (pid $pid) killed: mpirun ended with exit code $rc" \
    "$(echo "$(date +%s.%N) - $killed_at" | bc | cut -c1-4) s later"
  "$PY" -c "import h5py, sys; f = h5py.File(sys.argv[1], 'r'); [g['record'][()] for g in f['cells'].values()]" \
    "$WORK/s.h5" || fail "the store does not open after rank $victim was killed"
  # shellcheck disable=SC2086
  $MPIRUN 2 "$FEATREUSE" run "$WORK/job.yaml" --store "$WORK/s.h5" $extra > /dev/null 2> "$WORK/rerun.log" ||
    { tail -20 "$WORK/rerun.log"; fail "the rerun after killing rank $victim failed"; }
  check_py counts "$WORK/s.h5" 13 0 0
  check_py unchanged "$WORK/s.h5" "$WORK/snap.json"
  [ -z "$extra" ] || check_py same_training "$WORK/s.h5" "$WORK/group_reference.h5" 0
done
echo "PASS rank_kill"
