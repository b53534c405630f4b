#!/bin/bash
# A disk that fails at writeback rather than at write (docs/reliability.md):
# ext4 on a loop device whose sparse backing file lives on a small tmpfs, as
# thin-provisioned storage does. Writes land in the page cache; once the tmpfs
# is full, their writeback fails, fsync reports it, and ext4 soon aborts its
# journal (read-only). long.yaml, saving states at every validation, runs
# there, with 3 epochs so that its 13 tasks take several seconds; the tmpfs
# fills up once 3 tasks are done. The run must stop with exit 1 and a message
# naming the store or a state file, whichever rank fails first (rank 0, whose
# thread hands out the tasks, once hung here waiting for the other rank). After
# unmounting, e2fsck and freeing the tmpfs, the store opens in h5py and every
# task it holds as done is whole; the same command then finishes the study,
# bit-identical to an uninterrupted run. Mounts a tmpfs and a loop device:
# runs as root.
source "$(dirname "$0")/lib.sh"

cp -r "$SOURCE_DIR/tests/data/configs" "$WORK/configs"
sed -e "s|^configs: .*|configs: $WORK/configs|" \
    -e "s|recipe: {epochs: 1,|recipe: {epochs: 3, val_every: 0.25, checkpoint_every_s: 1,|" \
    "$JOBS/long.yaml" > "$WORK/job.yaml"
grep -q checkpoint_every_s "$WORK/job.yaml" || fail "could not derive the job"
run_job() { $MPIRUN 2 "$FEATREUSE" run "$WORK/job.yaml" --store "$1"; }
run_job "$WORK/reference.h5" > /dev/null 2> "$WORK/reference.log" ||
  { tail -20 "$WORK/reference.log"; fail "the uninterrupted run failed"; }

# The pool (64 MB of tmpfs) holds a 256 MB ext4 image, written up front by
# mkfs (inode tables, journal) so that the file system starts whole.
mkdir -p "$WORK/pool" "$WORK/disk"
mount -t tmpfs -o size=64m tmpfs "$WORK/pool" || fail "cannot mount a tmpfs (the test runs as root)"
S=$WORK/disk/s.h5
# A failing test first ends its run, which would keep the mount busy.
trap 'signal_job KILL "$S"; sleep 1; umount "$WORK/disk" 2> /dev/null; umount "$WORK/pool"; rm -rf "$WORK"' EXIT
IMAGE=$WORK/pool/disk.img
truncate -s 256M "$IMAGE"
mkfs.ext4 -q -m 0 -F -E lazy_itable_init=0,lazy_journal_init=0 "$IMAGE" || fail "mkfs.ext4 failed"
mount -o loop "$IMAGE" "$WORK/disk" || fail "cannot mount a loop device (needs root and /dev/loop*)"

# 1. The pool fills up once 3 tasks are done; the run must stop.
run_job "$S" > /dev/null 2> "$WORK/run1.log" &
job=$!
wait_until_done "$S" 3 || fail "3 tasks did not finish"
done_before=$("$FEATREUSE" status "$S" | sed -n 's/.* tasks: \([0-9]*\) done.*/\1/p')
dd if=/dev/zero of="$WORK/pool/filler" bs=64k 2> /dev/null && fail "the filler did not fill the pool"
rc=0
ends_within $job "$S" 120 || { tail -30 "$WORK/run1.log"; dmesg 2> /dev/null | tail -20; fail "the run did not stop within 2 minutes"; }
wait $job || rc=$?
said=$(grep -o "featreuse run: error: .*" "$WORK/run1.log" | head -1 || true)
echo "the run on the full pool: exit $rc: ${said//$WORK/\$WORK}"
[ $rc = 1 ] || { tail -20 "$WORK/run1.log"; fail "exit $rc (expected 1)"; }
echo "$said" | grep -qE "the store '$S'|'$S.resume/" || fail "the error names neither the store nor a state file"
grep -q "cannot save the training state .*cannot sync" "$WORK/run1.log" &&
  echo "state saves refused at fsync: $(grep -c "cannot save the training state .*cannot sync" "$WORK/run1.log")"

# 2. What reached the disk, after e2fsck (exit 0 or 1: no errors, or errors
# corrected) with the pool freed. mpirun returns once it has signalled the
# aborted ranks, which may still hold the store open for a moment (seconds
# under ASan): unmount once they are gone.
for _ in $(seq 1 300); do umount "$WORK/disk" 2> /dev/null && break; sleep 0.1; done
if mountpoint -q "$WORK/disk"; then
  fuser -vm "$WORK/disk" 2>&1 || true
  ps -eo pid,ppid,stat,etimes,args | grep -v grep | grep -E "featreuse|orted|prted|mpirun" || true
  fail "cannot unmount the disk 30 s after the run ended"
fi
rm "$WORK/pool/filler"
fsck_rc=0
e2fsck -fy "$IMAGE" > "$WORK/fsck.log" 2>&1 || fsck_rc=$?
[ $fsck_rc -le 1 ] || { tail "$WORK/fsck.log"; fail "e2fsck exit $fsck_rc"; }
mount -o loop "$IMAGE" "$WORK/disk" || fail "cannot mount the image again"
check_py schema "$S" || fail "a task the store holds as done is not whole"
check_py snapshot "$S" "$WORK/snap.json"
done_after=$(grep -o '"attempts"' "$WORK/snap.json" | wc -l)
[ "$done_after" -ge "$done_before" ] || fail "$done_before tasks were done before the pool filled, $done_after after"

# 3. The same command finishes the study.
run_job "$S" > /dev/null 2> "$WORK/run2.log" || { tail -20 "$WORK/run2.log"; fail "the run after freeing space failed"; }
check_py counts "$S" 13 0 0
check_py unchanged "$S" "$WORK/snap.json"
check_py same_training "$S" "$WORK/reference.h5" 0
echo "PASS thin_disk ($done_before tasks done when the pool filled, $done_after done on disk after e2fsck (exit $fsck_rc), kept by the rerun)"
