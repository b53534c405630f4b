#!/bin/bash
# kill -9 of one rank while the other runs (docs/reliability.md): the job ends
# (Open MPI stops the other rank; nothing hangs), the store opens in h5py,
# and the same command then redoes only what was not done: the tasks done
# before the kill are unchanged bit for bit and the study ends complete.
source "$(dirname "$0")/lib.sh"

# A copy of the configs: the job reads the same ones in both runs.
cp -r "$SOURCE_DIR/tests/data/configs" "$WORK/configs"
sed -e "s|^configs: .*|configs: $WORK/configs|" "$JOBS/long.yaml" > "$WORK/job.yaml"

for victim in 1 0; do # a rank that only trains, then rank 0 (the coordinator)
  rm -rf "$WORK/s.h5" "$WORK/s.h5".*
  $MPIRUN 2 "$FEATREUSE" run "$WORK/job.yaml" --store "$WORK/s.h5" > /dev/null 2> "$WORK/run.log" &
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
  # No hang: mpirun must end within a minute of losing a rank.
  for _ in $(seq 1 120); do kill -0 $job 2> /dev/null || break; sleep 0.5; done
  if kill -0 $job 2> /dev/null; then
    signal_job KILL "$WORK/s.h5"
    fail "the job hung after rank $victim was killed"
  fi
  rc=0
  wait $job || rc=$?
  [ $rc != 0 ] || fail "the job exited 0 after losing rank $victim"
  echo "rank $victim (pid $pid) killed: mpirun ended with exit code $rc"
  "$PY" -c "import h5py, sys; f = h5py.File(sys.argv[1], 'r'); [g['record'][()] for g in f['cells'].values()]" \
    "$WORK/s.h5" || fail "the store does not open after rank $victim was killed"
  $MPIRUN 2 "$FEATREUSE" run "$WORK/job.yaml" --store "$WORK/s.h5" > /dev/null 2> "$WORK/rerun.log" ||
    { tail -20 "$WORK/rerun.log"; fail "the rerun after killing rank $victim failed"; }
  check_py counts "$WORK/s.h5" 13 0 0
  check_py unchanged "$WORK/s.h5" "$WORK/snap.json"
done
echo "PASS rank_kill"
