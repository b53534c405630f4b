#!/bin/bash
# A disk that fills up in the middle of a run (docs/reliability.md). The store
# lives on a small tmpfs. Run 1 saves training states and is stopped (SIGTERM);
# run 2 resumes them, then a file fills the disk: saves of the training state
# and progress files fail with a warning naming the file and "No space left on
# device", training goes on, a task finishes into the store (its blocks were
# reserved when it was created), and the stop leaves the running tasks pending
# with their previous states whole (exit 0). After the filler is removed, run 3
# finishes; every resume of runs 2 and 3 starts from a state that was saved,
# and the study ends bit-identical to an uninterrupted run. Runs started on the
# full disk, into the half-finished store (2b) and the finished one (4), are
# refused with exit 1 naming the store, before they write to it.
source "$(dirname "$0")/lib.sh"

# slow.yaml with a state save at every validation (at most once a second).
cp -r "$SOURCE_DIR/tests/data/configs" "$WORK/configs"
sed -e "s|^configs: .*|configs: $WORK/configs|" \
    -e "s|recipe: {epochs: 4,|recipe: {epochs: 4, val_every: 0.25, checkpoint_every_s: 1,|" \
    "$JOBS/slow.yaml" > "$WORK/job.yaml"
grep -q checkpoint_every_s "$WORK/job.yaml" || fail "could not derive the job"
export FEATREUSE_HEARTBEAT_S=0.5 # progress files are written while the disk is full too
run_job() { $MPIRUN 2 "$FEATREUSE" run "$WORK/job.yaml" --store "$1"; }

run_job "$WORK/reference.h5" > /dev/null 2> "$WORK/reference.log" ||
  { tail -20 "$WORK/reference.log"; fail "the uninterrupted run failed"; }

# Room for the store and a few states: 4 times the finished store.
size_kb=$(($(stat -c %s "$WORK/reference.h5") * 4 / 1024))
mkdir -p "$WORK/disk"
mount -t tmpfs -o size=${size_kb}k tmpfs "$WORK/disk" || fail "cannot mount a tmpfs (the test runs as root)"
trap 'umount "$WORK/disk" 2> /dev/null; rm -rf "$WORK"' EXIT
S=$WORK/disk/s.h5

start_job() { # LOG: the job in the background; $job is mpirun's pid
  $MPIRUN 2 "$FEATREUSE" run "$WORK/job.yaml" --store "$S" > /dev/null 2> "$1" &
  job=$!
}
stop_job() { # LOG: SIGTERM to the ranks, as Slurm pre-empts; the job must exit 0
  pkill -TERM -x featreuse -P $job || fail "the job ended before the stop"
  local rc=0
  wait $job || rc=$?
  [ $rc = 0 ] || { tail -20 "$1"; fail "the job exited $rc after SIGTERM (expected 0)"; }
}
fill() { # NAME: a file that takes every free byte of the tmpfs
  dd if=/dev/zero of="$WORK/disk/$1" bs=64k 2> /dev/null && fail "$1 did not fill the disk"
  true
}
# A run into the store on a full disk: every run appends to the store file (its
# job text, the results table), so it must be refused with exit 1 and a
# message naming the store and the free space, before it writes: the file
# unchanged byte for byte and still opening in h5py, no task done before
# changed.
refused_on_full_disk() { # LOG
  local sum rc=0
  sum=$(sha256sum < "$S")
  check_py snapshot "$S" "$WORK/snap.json" > /dev/null
  $MPIRUN 2 "$FEATREUSE" run "$WORK/job.yaml" --store "$S" > /dev/null 2> "$1" || rc=$?
  [ $rc = 1 ] || { tail -20 "$1"; fail "a run on the full disk exited $rc (expected 1)"; }
  grep -q "the store $S cannot take this run: .* free on its file system (full?)" "$1" ||
    { tail -20 "$1"; fail "no message naming the store and the full disk"; }
  [ "$(sha256sum < "$S")" = "$sum" ] || fail "the refused run changed the store"
  check_py unchanged "$S" "$WORK/snap.json" > /dev/null || fail "a done task changed in the refused run"
  echo "refused on the full disk: $(grep -o "error: .*" "$1" | head -1 | sed "s|$WORK|\$WORK|g")"
}
done_count() { "$FEATREUSE" status "$S" 2> /dev/null | sed -n 's/.* tasks: \([0-9]*\) done.*/\1/p'; }

# 1. Room on the disk: the first tasks save states and are stopped.
start_job "$WORK/run1.log"
for _ in $(seq 1 600); do
  [ "$(ls "$S.resume/"*.h5 2> /dev/null | wc -l)" -ge 2 ] && break
  kill -0 $job 2> /dev/null || fail "the job ended before two tasks saved their state"
  sleep 0.1
done
stop_job "$WORK/run1.log"

# 2. The same command; once the tasks have resumed, the disk fills up. A task
# finishes into the store on the full disk; then the space its state file
# freed is filled too, and the stop meets a full disk.
start_job "$WORK/run2.log"
for _ in $(seq 1 600); do
  grep -q "resuming at step" "$WORK/run2.log" && break
  kill -0 $job 2> /dev/null || fail "run 2 ended before resuming a task"
  sleep 0.1
done
fill filler1
done_at_fill=$(done_count)
echo "disk full with ${done_at_fill:-0} tasks done"
wait_until_done "$S" $((${done_at_fill:-0} + 1)) || fail "no task finished on the full disk"
for _ in $(seq 1 100); do
  grep -q "cannot save the training state" "$WORK/run2.log" && break
  sleep 0.1
done
fill filler2
stop_job "$WORK/run2.log"
grep -E "cannot save the training state to '$S.resume/[^']*\.h5': No space left on device; the previous state" \
  "$WORK/run2.log" | head -1 | grep -q . || { tail -20 "$WORK/run2.log"; fail "no warning naming the state file and the cause"; }
grep -E "no heartbeat for status: cannot write the progress file $S.progress/.*No space left" "$WORK/run2.log" |
  head -1 | grep -q . || fail "no warning naming the progress file"
grep -q "without saving: the next run continues from the state saved before" "$WORK/run2.log" ||
  { tail -20 "$WORK/run2.log"; fail "no task was stopped on the full disk"; }
ls "$S.resume/"*.tmp > /dev/null 2>&1 && fail "partial state files were left: $(ls "$S.resume")"
"$PY" - "$S" << 'PYEOF' || fail "the store or a previous training state is damaged"
import glob, sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    recs = [g["record"][()] for g in f["cells"].values()]
assert not [r for r in recs if r["status"] in (b"running", b"failed")], "tasks left running or failed"
assert [r for r in recs if r["status"] == b"pending" and b"interrupted" in r["message"]], "no task pending"
for path in glob.glob(sys.argv[1] + ".resume/*.h5"):  # whole: every dataset reads
    with h5py.File(path, "r") as s:
        for name in s:
            s[name][()]
PYEOF

# 2b. The same command on the still full disk, into the half-finished store:
# refused before the store is opened for writing.
fill filler3
refused_on_full_disk "$WORK/run2b.log"

# 3. Space freed: the same command resumes each task from a state it saved
# (in run 1, or in run 2 before the disk filled) and the study ends as the
# uninterrupted run.
rm "$WORK/disk/filler1" "$WORK/disk/filler2" "$WORK/disk/filler3"
$MPIRUN 2 "$FEATREUSE" run "$WORK/job.yaml" --store "$S" > /dev/null 2> "$WORK/run3.log" ||
  { tail -20 "$WORK/run3.log"; fail "the run after freeing space failed"; }
# Every resume, in run 2 (whose disk filled while the resumed tasks trained)
# and in run 3, starts from a state that was saved. Run 3 resumes only the
# tasks still running at the stop with a state saved before: on a fast
# machine run 2's resumed tasks have finished by then, and the tasks it
# started never saved one, so run 3 may start them over.
resumed=$(grep -ho "train [0-9a-f]*: resuming at step [0-9]*" "$WORK/run2.log" "$WORK/run3.log" || true)
[ -n "$resumed" ] || fail "no task resumed from a kept state"
while read -r _ id _ _ _ step; do
  grep -q "train $id saved the training state at step $step " "$WORK/run1.log" "$WORK/run2.log" ||
    fail "task ${id%:} resumed at step $step, where no save succeeded"
done <<< "$resumed"
check_py counts "$S" 5 0 0
check_py same_training "$S" "$WORK/reference.h5" 0

# 4. The finished store on a full disk, its lock left as a run killed with -9
# leaves it (so that writing the lock file needs no new block): refused as in
# 2b; with space freed the same command takes the lock over, finds nothing to
# run, and the store stays as it was.
echo "host $(hostname), pid 1, started earlier (killed with -9)" > "$S.lock"
fill filler4
refused_on_full_disk "$WORK/run4.log"
rm "$WORK/disk/filler4"
$MPIRUN 2 "$FEATREUSE" run "$WORK/job.yaml" --store "$S" > /dev/null 2> "$WORK/run5.log" ||
  { tail -20 "$WORK/run5.log"; fail "the run after freeing space again failed"; }
check_py counts "$S" 5 0 0
check_py unchanged "$S" "$WORK/snap.json"
failed_saves=$(grep -c "cannot save the training state" "$WORK/run2.log")
echo "PASS disk_full ($failed_saves saves failed on the full disk; $(grep -c "resuming at step" "$WORK/run3.log" || true) tasks resumed after it was freed; runs on the full disk refused, a half-finished and a finished store unchanged)"
