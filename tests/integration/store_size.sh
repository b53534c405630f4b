#!/bin/bash
# The store's size is known before the run: `plan` prints what preparing the
# store allocates, close to the file the run then writes; and `run` refuses,
# before creating anything, a job whose store does not fit on its file system
# (a small tmpfs here, so the refusal meets a real statvfs).
source "$(dirname "$0")/lib.sh"

JOB=$JOBS/long.yaml
"$FEATREUSE" plan "$JOB" > "$WORK/plan.txt" || fail "plan failed"
estimate=$(sed -n 's/^store size: preparing the store allocates about \([0-9.]*\) MB.*/\1/p' "$WORK/plan.txt")
[ -n "$estimate" ] || { cat "$WORK/plan.txt"; fail "plan printed no store size in MB"; }
grep -qE "^store size: .*1 source [0-9.]+ [kM]B, 12 cell [0-9.]+ MB\)" "$WORK/plan.txt" ||
  fail "plan's store size is not itemised by task kind: $(grep '^store size' "$WORK/plan.txt")"

$MPIRUN 2 "$FEATREUSE" run "$JOB" --store "$WORK/s.h5" 2> "$WORK/run.log" || fail "run failed"
actual=$(stat -c %s "$WORK/s.h5")
"$PY" -c "import sys; e, a = float(sys.argv[1]) * 1e6, int(sys.argv[2]); \
sys.exit(0 if abs(e - a) <= 0.1 * a else 'estimate %.0f bytes, the finished store %d bytes' % (e, a))" \
  "$estimate" "$actual" || fail "plan's estimate is more than 10% off"

mkdir -p "$WORK/small"
mount -t tmpfs -o size=4m tmpfs "$WORK/small" || fail "cannot mount a 4 MB tmpfs (the test runs as root)"
trap 'umount "$WORK/small" 2> /dev/null; rm -rf "$WORK"' EXIT
if $MPIRUN 2 "$FEATREUSE" run "$JOB" --store "$WORK/small/s.h5" 2> "$WORK/err.txt"; then
  fail "run accepted a store that does not fit in 4 MB"
fi
grep -qE "the store $WORK/small/s.h5 needs about [0-9.]+ MB more .* but [0-9.]+ [kM]B are free" "$WORK/err.txt" ||
  { cat "$WORK/err.txt"; fail "the refusal does not give the sizes"; }
[ -z "$(ls -A "$WORK/small")" ] || fail "a refused run left files: $(ls "$WORK/small")"
echo "PASS store_size"
