#!/bin/bash
# Fault injection (docs/reliability.md): kill -9 of the whole job (mpirun and
# every rank) at FAULTS random moments, the same command again after each.
# After every kill the store (once it exists) opens in h5py with every record
# readable, and every task done before the kill is unchanged bit for bit
# (attempts, end time, checkpoints, predictions, analysis tables); at the end
# the study is complete and every task's record and best checkpoint, and every
# analysis' tables, equal those of an uninterrupted run of the same job (CPU,
# one thread per rank).
#   FAULTS=10 (default 4 in CTest) SEED=1 bash tests/integration/fault_inject.sh
# JOB (a job file, relative to the source tree or absolute; default
# tests/integration/jobs/long.yaml) picks the job, e.g. JOB=jobs/demo.yaml
# RECIPE='checkpoint_every_s: 1' for the demo (30-60 min at FAULTS=10).
# RECIPE (default 'val_every: 0.25, checkpoint_every_s: 1': validations and
# state saves for the kills to meet) is merged into the job's overrides.recipe.
# The task counts expected come from `featreuse plan` of the job.
# SIGNAL=TERM (or USR1) sends that signal instead of SIGKILL, to the ranks
# as Slurm does: the job saves its running tasks and exits, and the
# resumed tasks must still end bit-identical to the uninterrupted run.
# Each kill is classified by the last line the job logged before it (start-up,
# store creation, training, a state save, a record write, an analysis, the
# summary/barrier).
source "$(dirname "$0")/lib.sh"
# KEEP=DIR: a failing run leaves its stores and logs there (a long run's evidence).
[ -z "${KEEP:-}" ] || trap 'rc=$?; [ $rc = 0 ] || cp -a "$WORK" "$KEEP"; rm -rf "$WORK"' EXIT
FAULTS=${FAULTS:-4}
SIGNAL=${SIGNAL:-KILL}
SEED=${SEED:-$$}
JOB=${JOB:-tests/integration/jobs/long.yaml}
RECIPE=${RECIPE-val_every: 0.25, checkpoint_every_s: 1}
case $JOB in /*) ;; *) JOB=$SOURCE_DIR/$JOB ;; esac
[ -f "$JOB" ] || fail "no job file $JOB"
RANDOM=$SEED
echo "fault injection: $FAULTS x SIG$SIGNAL, seed $SEED, job $JOB, recipe {$RECIPE}"

# A copy of the job's configs: the job must read the same ones from the first
# run to the last. A job without `configs:` reads the source tree's.
configs=$(sed -n 's/^configs: *//p' "$JOB")
case $configs in
  "") configs=$SOURCE_DIR/configs ;;
  /*) ;;
  *) configs=$(dirname "$JOB")/$configs ;;
esac
cp -r "$configs" "$WORK/configs"
# The job pointing at that copy, with RECIPE's keys set in its overrides'
# recipe (a flow mapping on one line, as in the repository's jobs).
"$PY" - "$JOB" "$WORK/job.yaml" "$WORK/configs" "$RECIPE" << 'PYEOF' || fail "could not derive the job from $JOB"
import re, sys
job, out, configs, extra = sys.argv[1:]
lines = [l for l in open(job).read().splitlines() if not l.startswith("configs:")]
keys = dict(kv.split(":", 1) for kv in re.split(r",\s*", extra.strip())) if extra.strip() else {}
if keys:
    top = [i for i, l in enumerate(lines) if l.startswith("overrides:")]
    if not top:
        sys.exit(f"{job}: no overrides: mapping to put {extra} in")
    body = range(top[0] + 1, len(lines))
    rows = [i for i in body if re.match(r"^  recipe: \{.*\}\s*$", lines[i])]
    if not rows or any(re.match(r"^\S", lines[i]) for i in range(top[0] + 1, rows[0])):
        sys.exit(f"{job}: overrides has no one-line recipe: {{...}} to put {extra} in")
    inner = re.match(r"^  recipe: \{(.*)\}\s*$", lines[rows[0]]).group(1)
    items = dict(kv.split(":", 1) for kv in re.split(r",\s*", inner.strip()))
    items.update(keys)
    lines[rows[0]] = "  recipe: {" + ", ".join(f"{k.strip()}: {v.strip()}" for k, v in items.items()) + "}"
open(out, "w").write(f"configs: {configs}\n" + "\n".join(lines) + "\n")
PYEOF
run_job() { # STORE: the job, with a bound on deaths no test run reaches
  $MPIRUN 2 "$FEATREUSE" run "$WORK/job.yaml" --store "$1" --max-attempts 1000
}

# What a complete study holds, from the plan: its tasks and which are analyses.
plan=$("$FEATREUSE" plan "$WORK/job.yaml") || fail "featreuse plan refused the derived job"
tasks=$(echo "$plan" | sed -n 's/^job .*: \([0-9]*\) tasks (.*/\1/p')
analysis_ids=$(echo "$plan" | awk '$1 ~ /^[0-9]+$/ && $3 == "analysis" { print $2 }')
analyses=$(echo "$analysis_ids" | grep -c . || true)
[ -n "$tasks" ] && [ "$tasks" -gt 0 ] || fail "no task count in the plan of $WORK/job.yaml"
echo "the job: $tasks tasks, $analyses of them analyses"

start=$(date +%s.%N)
run_job "$WORK/reference.h5" > /dev/null 2> "$WORK/reference.log" ||
  { tail -20 "$WORK/reference.log"; fail "the uninterrupted run failed"; }
span=$(echo "$(date +%s.%N) - $start" | bc)
echo "uninterrupted run: ${span}s"
check_py counts "$WORK/reference.h5" "$tasks" 0 0 > /dev/null
[ "$analyses" = 0 ] || check_py analyses "$WORK/reference.h5" "$analyses" > /dev/null

# The models of the tasks started and not ended in LOG (every rank's), e.g.
# "deit_micro, resnet_small" (a source without a model axis: "source=vit_0_4").
models_in_flight() { # LOG
  local id ended
  ended=$(sed -n 's/.* task \([0-9a-f]*\) \(done in\|failed after\|interrupted\).*/\1/p' "$1")
  sed -n -e 's/.* task \([0-9a-f]*\) start: .*model=\([^ ]*\).*/\1 \2/p' -e t \
    -e 's/.* task \([0-9a-f]*\) start: \([^ ]*\).*/\1 \2/p' "$1" | while read -r id model; do
    echo "$ended" | grep -qx "$id" || echo "$model"
  done | sort | paste -sd, | sed 's/,/, /g'
}

phase_of() { # LOG: what the job was doing when it died, from its last line
  local last started
  last=$(grep -v '^\s*$' "$1" | grep '^\[' | tail -1)
  # An analysis logs nothing between its start and its end.
  started=$(echo "$last" | sed -n 's/.* task \([0-9a-f]*\) start: .*/\1/p')
  if [ -n "$started" ] && echo "$analysis_ids" | grep -qx "$started"; then
    echo "analysis (record write, computing)"
    return
  fi
  case "$last" in
    "") echo "start-up (no log line)" ;;
    *"featreuse run "*|*"planned "*|*"store "*"for the job"*) echo "start-up / schema" ;;
    *"tasks: "*"done before"*|*"previous run into"*|*"store: "*"datasets created"*) echo "store creation / start states" ;;
    *" init: "*|*" start: "*|*"opened dataset "*) echo "task start (record write, data, init)" ;;
    *"train "*|*"val "*) echo "training / validation / state save ($(models_in_flight "$1"))" ;;
    *" done in "*|*" failed after "*) echo "task end (outputs, record write)" ;;
    *"finished in"*|*"tasks finished"*|*"stop requested"*) echo "summary / final barrier" ;;
    *) echo "other: ${last:0:80}" ;;
  esac
}

# A study that completes between kills is checked like the last one and a
# fresh study starts, so that every kill meets a job with work left.
finished_study() {
  check_py counts "$WORK/s.h5" "$tasks" 0 0 > /dev/null || fail "a study did not end complete"
  [ -e "$WORK/snap.json" ] && { check_py unchanged "$WORK/s.h5" "$WORK/snap.json" > /dev/null ||
    fail "a task done before a kill changed"; }
  check_py same_training "$WORK/s.h5" "$WORK/reference.h5" 0 > /dev/null ||
    fail "a study trained otherwise than the uninterrupted run"
  studies=$((studies + 1))
  rm -rf "$WORK/s.h5" "$WORK/s.h5".* "$WORK/snap.json"
}

declare -A phases
kills=0 studies=0 runs=0
while [ $kills -lt "$FAULTS" ]; do
  runs=$((runs + 1))
  [ $runs -le $((FAULTS * 4)) ] || fail "only $kills kills landed in $runs runs"
  delay=$(echo "scale=3; $span * $RANDOM / 32767" | bc)
  [ -e "$WORK/s.h5" ] && check_py snapshot "$WORK/s.h5" "$WORK/snap.json" > /dev/null
  run_job "$WORK/s.h5" > /dev/null 2> "$WORK/run$runs.log" &
  job=$!
  sleep "$delay"
  if kill -0 $job 2> /dev/null; then
    head -n "$(wc -l < "$WORK/run$runs.log")" "$WORK/run$runs.log" > "$WORK/at_signal.log"
    if [ "$SIGNAL" = KILL ]; then
      signal_job KILL "$WORK/s.h5"
      kill -KILL $job 2> /dev/null || true
    else # to the ranks, as Slurm signals its tasks (preempt.sh)
      pkill "-$SIGNAL" -x featreuse -P $job || true
    fi
    rc=0
    wait $job 2> /dev/null || rc=$?
    kills=$((kills + 1))
    phase=$(phase_of "$WORK/at_signal.log")
    [ "$SIGNAL" = KILL ] || phase="$phase; exit $rc"
    phases[$phase]=$((${phases[$phase]:-0} + 1))
    echo "kill $kills after ${delay}s: $phase"
  else
    wait $job || { tail -20 "$WORK/run$runs.log"; fail "run $runs exited non-zero without a kill"; }
    finished_study
    echo "run $runs finished before its kill at ${delay}s: study $studies complete and as uninterrupted"
    continue
  fi
  if [ -e "$WORK/s.h5" ]; then
    "$PY" - "$WORK/s.h5" << 'PYEOF' || fail "kill $kills: the store does not open or a record cannot be read"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    for cid, g in f["cells"].items():
        g["record"][()]
PYEOF
    [ -e "$WORK/snap.json" ] && { check_py unchanged "$WORK/s.h5" "$WORK/snap.json" > /dev/null ||
      fail "kill $kills: a task done before it changed"; }
  fi
done

[ -e "$WORK/s.h5" ] && check_py snapshot "$WORK/s.h5" "$WORK/snap.json" > /dev/null
run_job "$WORK/s.h5" > /dev/null 2> "$WORK/final.log" || { tail -20 "$WORK/final.log"; fail "the final run failed"; }
check_py counts "$WORK/s.h5" "$tasks" 0 0
[ -e "$WORK/snap.json" ] && check_py unchanged "$WORK/s.h5" "$WORK/snap.json"
check_py same_training "$WORK/s.h5" "$WORK/reference.h5" 0
studies=$((studies + 1))
for phase in "${!phases[@]}"; do echo "  ${phases[$phase]} x $phase"; done | sort
echo "PASS fault_inject ($kills x SIG$SIGNAL in $runs runs, $studies studies of $tasks tasks complete and bit-identical to the uninterrupted run, seed $SEED, ${SECONDS}s)"
