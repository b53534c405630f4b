#!/bin/bash
# One run at a time per store: a second `run` into a store another run is
# writing is refused (exit 1) with the holder's host and pid, and the first
# finishes a consistent store; after a kill -9 of a run, the next run takes
# the store over (the kernel released the dead run's lock) and says so.
source "$(dirname "$0")/lib.sh"

$MPIRUN 2 "$FEATREUSE" run "$JOBS/slow.yaml" --store "$WORK/s.h5" 2> "$WORK/first.log" &
first=$!
wait_until_done "$WORK/s.h5" 1 || fail "the first run did not start"
if $MPIRUN 2 "$FEATREUSE" run "$JOBS/slow.yaml" --store "$WORK/s.h5" > /dev/null 2> "$WORK/second.log"; then
  fail "a second run into the same store was accepted"
fi
grep -qE "another featreuse run is writing the store $WORK/s.h5 \(host $(hostname), pid [0-9]+" "$WORK/second.log" ||
  { cat "$WORK/second.log"; fail "the refusal does not name the holder"; }
pid=$(sed -n 's/.*, pid \([0-9]*\).*/\1/p' "$WORK/second.log" | head -1)
[ "$(cat "/proc/$pid/comm" 2> /dev/null)" = featreuse ] || fail "pid $pid in the refusal is not a featreuse rank"
wait $first || { tail -20 "$WORK/first.log"; fail "the first run failed"; }
check_py counts "$WORK/s.h5" 5 0 0
[ ! -s "$WORK/s.h5.lock" ] || fail "a finished run left its lock file filled: $(cat "$WORK/s.h5.lock")"

# kill -9 mid-run, then the same command: it takes over and finishes.
setsid $MPIRUN 2 "$FEATREUSE" run "$JOBS/slow.yaml" --store "$WORK/k.h5" 2> /dev/null &
killed=$!
wait_until_done "$WORK/k.h5" 1 || fail "the run to kill did not start"
signal_job KILL "$WORK/k.h5"
wait $killed 2> /dev/null || true
[ -s "$WORK/k.h5.lock" ] || fail "the killed run's lock file is empty"
$MPIRUN 2 "$FEATREUSE" run "$JOBS/slow.yaml" --store "$WORK/k.h5" 2> "$WORK/rerun.log" ||
  { tail -20 "$WORK/rerun.log"; fail "the run after kill -9 was refused or failed"; }
grep -q "ended without releasing it (host $(hostname), pid" "$WORK/rerun.log" || fail "the takeover was not logged"
check_py counts "$WORK/k.h5" 5 0 0
echo "PASS store_lock"
