#!/bin/bash
# kill -9 aimed at the store's writes (docs/reliability.md): gdb attaches to a
# rank of the running job, stops it exactly inside a write, and the whole job
# (mpirun and every rank) is killed there; the same command then continues
# the study. Five moments, one per run on the same store:
#   state    a training state's temporary file half written (the model only)
#   rename   a training state's temporary file complete, not yet renamed over the old one
#   record   a task's done record written, its results-table row not yet
#   outputs  a finished task's first checkpoint written, the rest and the record not
#   analysis an analysis task's first table written, the rest and the record not
# After each kill the store opens in h5py and every task done before the run
# is unchanged bit for bit; the last run completes the study, which must equal
# an uninterrupted run's exactly (tolerance 0).
source "$(dirname "$0")/lib.sh"
command -v gdb > /dev/null || fail "needs gdb"

# slow.yaml (1 source + 4 cells of a few seconds), validating every quarter
# epoch and saving the training state at most once a second, and a k-NN of
# each cell (4 analysis tasks).
cp -r "$SOURCE_DIR/tests/data/configs" "$WORK/configs"
sed -e "s|^configs: .*|configs: $WORK/configs|" \
    -e "s|recipe: {epochs: 4,|recipe: {epochs: 4, val_every: 0.25, checkpoint_every_s: 1,|" \
    "$JOBS/slow.yaml" > "$WORK/job.yaml"
printf 'analyses:\n  knn: {test_images: 256}\n' >> "$WORK/job.yaml"
grep -q checkpoint_every_s "$WORK/job.yaml" || fail "could not derive the job"
run_job() { $MPIRUN 2 "$FEATREUSE" run "$WORK/job.yaml" --store "$1" --max-attempts 100; }

run_job "$WORK/reference.h5" > /dev/null 2> "$WORK/reference.log" ||
  { tail -20 "$WORK/reference.log"; fail "the uninterrupted run failed"; }

# gdb commands, one a line, that stop the rank at each moment (Release builds
# keep the functions' symbols; `finish` runs to the end of the call it is in).
moment_commands() {
  case "$1" in
    record) # the task's done record: the record write that follows its outputs
      printf '%s\n' "break featreuse::store::Store::write_outputs" continue \
        "break featreuse::store::Store::write_record" continue "break H5Dwrite" continue finish ;;
    outputs) printf '%s\n' "break featreuse::store::Store::write_outputs" continue "break H5Dwrite" continue finish ;;
    state) printf '%s\n' "break featreuse::train::FileResumeSlot::save" continue "break H5Dwrite" continue finish ;;
    rename) printf '%s\n' "break featreuse::train::FileResumeSlot::save" continue "break rename" continue ;;
    analysis) printf '%s\n' "break featreuse::store::Store::write_analysis" continue "break H5Dwrite" continue finish ;;
  esac
}

# The pid of rank RANK of the mpirun JOB (its environment names its rank).
rank_pid() { # JOB RANK
  local p
  for p in $(pgrep -P "$1" -f "featreuse run" || true); do
    if tr '\0' '\n' < /proc/$p/environ 2> /dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2"; then echo "$p"; fi
  done
}

# Runs the job on RANKS ranks (default 2) into S, stops rank RANK inside
# MOMENT with gdb and kills the whole job there; fails unless the rank was
# stopped at the moment's last breakpoint when the kill came. One thread per
# rank whatever RANKS, so that every run computes alike.
kill_inside() { # MOMENT RANK [RANKS]
  local moment=$1 rank=$2 ranks=${3:-2} pid= line args=()
  $MPIRUN "$ranks" "$FEATREUSE" run "$WORK/job.yaml" --store "$S" --max-attempts 100 --threads 1 \
    > /dev/null 2> "$WORK/$moment.log" &
  local job=$! # mpirun's pid (a function run in the background would be a subshell's)
  for _ in $(seq 1 200); do
    pid=$(rank_pid $job "$rank")
    [ -n "$pid" ] && [ -e "$S.progress" ] && break # past start-up: a task runs
    sleep 0.05
  done
  [ -n "$pid" ] || fail "$moment: no rank $rank under mpirun $job"
  while read -r line; do args+=(-ex "$line"); done < <(moment_commands "$moment")
  local breaks
  breaks=$(moment_commands "$moment" | grep -c '^break')
  local pids="$job $(pgrep -P $job -f 'featreuse run' | tr '\n' ' ')"
  # Symbols of HDF5 and libc only: reading libtorch's took most of the time.
  timeout 120 gdb -p "$pid" -batch -nx -iex "set auto-solib-add off" -ex "sharedlibrary libhdf5|libc[.]so" \
    "${args[@]}" -ex "shell kill -KILL $pids; echo KILLED THE JOB" \
    > "$WORK/$moment.gdb" 2>&1 || true
  kill -KILL $pids 2> /dev/null || true
  wait $job 2> /dev/null || true
  # gdb prints 'Thread 1 "featreuse" hit Breakpoint N, <address> in <function>' at each stop.
  local stop
  stop=$(grep -E "hit Breakpoint $breaks[,.]" "$WORK/$moment.gdb" | head -1)
  grep -q "exited normally" "$WORK/$moment.gdb" && fail "$moment: the job ended before rank $rank got there"
  [ -n "$stop" ] && grep -q "KILLED THE JOB" "$WORK/$moment.gdb" ||
    { tail -20 "$WORK/$moment.gdb"; fail "$moment: gdb never stopped rank $rank inside the write"; }
  if moment_commands "$moment" | grep -qx finish; then
    # `finish` ends by printing the caller's frame: the store's HDF5 wrapper.
    grep -A1 -E "hit Breakpoint $breaks[,.]" "$WORK/$moment.gdb" | grep -q " in featreuse::h5::" ||
      fail "$moment: the write did not run to its end before the kill"
  fi
  echo "$moment: rank $rank stopped at $(echo "$stop" | sed 's/.* in \([^( ]*\).*/\1/')" \
    "($(moment_commands "$moment" | grep -c '^continue') stops), the job killed there"
}

S=$WORK/s.h5
rank=1
# The saves first, while every task still trains; then the ends of tasks;
# then an analysis' tables, on one rank, which must reach them (with two,
# the other rank might take every analysis left).
for moment in state rename record outputs analysis; do
  [ -e "$S" ] && check_py snapshot "$S" "$WORK/snap.json" > /dev/null
  if [ $moment = analysis ]; then kill_inside $moment 0 1; else kill_inside $moment $rank; fi
  rank=$((1 - rank))
  "$PY" -c "import h5py, sys; f = h5py.File(sys.argv[1], 'r'); [g['record'][()] for g in f['cells'].values()]" \
    "$S" || fail "$moment: the store does not open or a record cannot be read after the kill"
  [ -e "$WORK/snap.json" ] && { check_py unchanged "$S" "$WORK/snap.json" > /dev/null ||
    fail "$moment: a task done before the run changed"; }
done
check_py snapshot "$S" "$WORK/snap.json" > /dev/null
run_job "$S" > /dev/null 2> "$WORK/final.log" || { tail -20 "$WORK/final.log"; fail "the final run failed"; }
check_py counts "$S" 9 0 0
check_py unchanged "$S" "$WORK/snap.json"
check_py same_training "$S" "$WORK/reference.h5" 0
echo "PASS aimed_kill (5 kills inside store and state writes; the study complete and bit-identical)"
