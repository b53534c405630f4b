#!/bin/bash
# One run at a time per store: a second `run` into a store another run is
# writing is refused (exit 1) with the holder's host and pid, and the first
# finishes a consistent store; after a kill -9 of a run, the next run takes
# the store over (the kernel released the dead run's lock) and says so.
source "$(dirname "$0")/lib.sh"

$MPIRUN 2 "$FEATREUSE" run "$JOBS/slow.yaml" --store "$WORK/s.h5" 2> "$WORK/first.log" &
first=$!
wait_until_done "$WORK/s.h5" 1 || fail "the first run did not start"
# Held still while the checks run, so that its remaining tasks cannot finish
# first (a stopped process keeps its lock); a failed check must not leave it
# stopped, with ctest waiting on its output.
trap 'signal_job KILL "$WORK/s.h5"; rm -rf "$WORK"' EXIT
signal_job STOP "$WORK/s.h5"
if $MPIRUN 2 "$FEATREUSE" run "$JOBS/slow.yaml" --store "$WORK/s.h5" > /dev/null 2> "$WORK/second.log"; then
  fail "a second run into the same store was accepted"
fi
grep -qE "another featreuse run is writing the store $WORK/s.h5 \(host $(hostname), pid [0-9]+" "$WORK/second.log" ||
  { cat "$WORK/second.log"; fail "the refusal does not name the holder"; }
! grep -q "planned .* tasks" "$WORK/second.log" || fail "the second run computed the store's schema before it was refused"
pid=$(sed -n 's/.*, pid \([0-9]*\).*/\1/p' "$WORK/second.log" | head -1)
[ "$(cat "/proc/$pid/comm" 2> /dev/null)" = featreuse ] || fail "pid $pid in the refusal is not a featreuse rank"
"$FEATREUSE" status "$WORK/s.h5" | grep -q "^being written by a run: host $(hostname), pid $pid" ||
  fail "status does not name the run writing the store"
"$FEATREUSE" status "$WORK/s.h5" --json | "$PY" -c 'import json, sys; w = json.load(sys.stdin)["writer"]; \
sys.exit(0 if w["running"] and "pid" in w["holder"] else w)' || fail "status --json has no running writer"
signal_job CONT "$WORK/s.h5"
wait $first || { tail -20 "$WORK/first.log"; fail "the first run failed"; }
"$FEATREUSE" status "$WORK/s.h5" | grep -q "^no run is writing it$" || fail "status still names a writer"
"$FEATREUSE" status "$WORK/s.h5" --json | "$PY" -c 'import json, sys; w = json.load(sys.stdin)["writer"]; \
sys.exit(0 if not w["running"] and w["holder"] is None else w)' || fail "status --json names a writer after the run"

check_py counts "$WORK/s.h5" 5 0 0
[ ! -s "$WORK/s.h5.lock" ] || fail "a finished run left its lock file filled: $(cat "$WORK/s.h5.lock")"

# kill -9 mid-run, then the same command: it takes over and finishes.
setsid $MPIRUN 2 "$FEATREUSE" run "$JOBS/slow.yaml" --store "$WORK/k.h5" 2> /dev/null &
killed=$!
wait_until_done "$WORK/k.h5" 1 || fail "the run to kill did not start"
signal_job KILL "$WORK/k.h5"
wait $killed 2> /dev/null || true
[ -s "$WORK/k.h5.lock" ] || fail "the killed run's lock file is empty"
"$FEATREUSE" status "$WORK/k.h5" | grep -q "^no run is writing it; the last one died while it did (host $(hostname)" ||
  fail "status does not say the last run died: $("$FEATREUSE" status "$WORK/k.h5" | sed -n 2,3p)"
$MPIRUN 2 "$FEATREUSE" run "$JOBS/slow.yaml" --store "$WORK/k.h5" 2> "$WORK/rerun.log" ||
  { tail -20 "$WORK/rerun.log"; fail "the run after kill -9 was refused or failed"; }
grep -q "ended without releasing it (host $(hostname), pid" "$WORK/rerun.log" || fail "the takeover was not logged"
check_py counts "$WORK/k.h5" 5 0 0
echo "PASS store_lock"
