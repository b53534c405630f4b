#!/bin/bash
# A real single-node Slurm (slurm_cluster.sh) runs a study with
# slurm/featreuse.sbatch (srun --mpi=pmix, 2 ranks), and the job is stopped
# twice part-way, each time with a training task mid-way:
#  1. SIGUSR1 to the batch script, as `--signal=B:USR1@...` sends it before
#     the time limit: the script passes it on, the ranks save their tasks and
#     exit 0, the script requeues the job itself;
#  2. `scontrol requeue`, as a pre-emption: Slurm sends SIGTERM to the ranks,
#     which save their tasks within KillWait.
# The store must end complete, with no task done before a stop run again
# (attempts, end times and checkpoints unchanged), every interrupted task
# continued from its saved state, and each restart named in the log.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/slurm_cluster.sh"
trap 'slurm_cluster_stop; rm -rf "$WORK"' EXIT

slurm_cluster_start "$WORK/slurm" || fail "could not start a Slurm cluster"
LOG=$WORK/job.log
STORE=$WORK/s.h5

# Waits until the job's log shows >= N tasks done and then a task validated
# at step 32-128 of its 256: a stop then finds that task mid-way, with at
# least a second of training left. (Progress lines are no guide: a task this
# short logs only its first and last step.) (The
# log, not `featreuse status`: progress files beat every 30 s, the tasks here
# take seconds.)
wait_mid_task() { # N
  local i j from
  for i in $(seq 1 600); do
    sleep 0.2
    [ -e "$LOG" ] && [ "$(grep -c " done in " "$LOG")" -ge "$1" ] || continue
    from=$(wc -l < "$LOG")
    for j in $(seq 1 300); do
      sleep 0.1
      tail -n +"$from" "$LOG" | grep -Eq " val [0-9a-f]+ epoch [0-9.]+ step (32|64|96|128): " && return 0
    done
    return 1
  done
  return 1
}
job_state() { scontrol show job "$JOB" 2> /dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'; }
# Once the job is requeued (pending, nothing of it running), notes what is
# done so far; then lets it start at once: Slurm holds a requeued job for two
# minutes (its BeginTime), as a free cluster would not need to. Not in the
# second of the kill, though: slurmd notes a killed job's credential as
# revoked to the second and refuses a launch whose credential is from that
# same second ("Job credential revoked": the job then fails; seen once in CI).
release_when_requeued() { # RESTART SNAPSHOT
  local i
  for i in $(seq 1 300); do
    sleep 0.2
    if scontrol show job "$JOB" | grep -q "Restarts=$1 " && [ "$(job_state)" = PENDING ]; then
      check_py snapshot "$STORE" "$2"
      sleep 2
      scontrol update JobId="$JOB" StartTime=now && return 0
    fi
  done
  return 1
}
wait_running() {
  local i
  for i in $(seq 1 300); do
    sleep 0.2
    [ "$(job_state)" = RUNNING ] && return 0
  done
  return 1
}
show_logs() {
  scontrol show job "$JOB" >&2 || true
  grep -E "Slurm job|start:|resuming|stop requested|saved|done in|SIGUSR1|requeue" "$LOG" >&2 || true
  tail -n 30 "$LOG" "$WORK"/slurm/log/slurmctld.log "$WORK"/slurm/log/slurmd.log >&2 || true
}

JOB=$(FEATREUSE=$FEATREUSE sbatch --parsable --ntasks=2 --cpus-per-task=1 --output="$LOG" \
  "$SOURCE_DIR/slurm/featreuse.sbatch" "$JOBS/slurm.yaml" "$STORE") || fail "sbatch refused the job"
echo "submitted Slurm job $JOB"

wait_mid_task 1 || { show_logs; fail "no task mid-way in the first run"; }
scancel --signal=USR1 --batch "$JOB" || fail "scancel --signal=USR1 --batch failed"
release_when_requeued 1 "$WORK/snap1.json" || { show_logs; fail "the batch script did not requeue the job after SIGUSR1"; }
wait_running || { show_logs; fail "the requeued job did not start"; }

wait_mid_task 3 || { show_logs; fail "no task mid-way in the second run"; }
scontrol requeue "$JOB" || fail "scontrol requeue failed"
release_when_requeued 2 "$WORK/snap2.json" || { show_logs; fail "scontrol requeue did not requeue the job"; }

for _ in $(seq 1 600); do
  sleep 0.5
  case $(job_state) in COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL) break ;; esac
done
[ "$(job_state)" = COMPLETED ] || { show_logs; fail "the job ended $(job_state), not COMPLETED"; }

check_py counts "$STORE" 9 0 0
check_py unchanged "$STORE" "$WORK/snap1.json"
check_py unchanged "$STORE" "$WORK/snap2.json"
check_py schema "$STORE"
for restart in 0 1 2; do
  grep -q "Slurm job $JOB (restart $restart)" "$LOG" || fail "restart $restart is not in the log"
done
grep -q "SIGUSR1 received" "$LOG" || fail "the batch script did not log the SIGUSR1"
grep -q "requeueing job $JOB" "$LOG" || fail "the batch script did not requeue after SIGUSR1"
grep -q "stop requested (signal 15)" "$LOG" || fail "no rank logged the SIGTERM of scontrol requeue"
# Each stop found a task mid-way: each of the two later runs resumed one.
resumed=$(awk -v job="$JOB" '/Slurm job .* \(restart [12]\)/ {run++} /resuming at step/ && run {seen[run]=1}
  END {print length(seen)}' "$LOG")
[ "$resumed" = 2 ] || { show_logs; fail "$resumed of the 2 requeued runs continued a task from its saved state"; }
"$PY" - "$STORE" << 'PYEOF' || fail "a task of the study was counted as more than one attempt"
import sys, h5py
f = h5py.File(sys.argv[1])
attempts = {k: int(g["record"][()]["attempts"]) for k, g in f["cells"].items()}
assert set(attempts.values()) == {1}, attempts
PYEOF
[ -z "$(ls -A "$STORE.resume")" ] || fail "saved states of finished tasks were not removed"
echo "PASS slurm_requeue"
