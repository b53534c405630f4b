# Shared by the integration tests: paths, mpirun flags, helpers.
set -euo pipefail
FEATREUSE=${FEATREUSE:?path to the featreuse binary}
SOURCE_DIR=${FEATREUSE_SOURCE_DIR:?source tree}
JOBS=$SOURCE_DIR/tests/integration/jobs
PY=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Keep each rank to one thread: the test machines have 2 cores.
export OMP_NUM_THREADS=1
MPIRUN="mpirun --oversubscribe --bind-to none -np"
# Extra `run` options of the tests that take them (scripts/gpu/check.sh: --device cuda).
read -r -a RUN_ARGS <<< "${FEATREUSE_RUN_ARGS:-}"
WORK=$(mktemp -d /tmp/featreuse-it.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
check_py() { "$PY" "$SOURCE_DIR/tests/integration/check_store.py" "$@"; }

# The processes of a running job (mpirun and its ranks, which Open MPI puts in
# process groups of their own), found by the store path on their command line.
job_pids() { pgrep -f "featreuse run .*$1" || true; }
signal_job() { # SIGNAL STORE
  local pid
  for pid in $(job_pids "$2"); do kill "-$1" "$pid" 2> /dev/null || true; done
}

# Waits up to SECONDS for process PID (a job's mpirun) to end. If it has not,
# the job hangs: prints what each of its processes waits on (threads and wait
# channels, gdb's backtraces) so that the log keeps the evidence, kills the
# job and returns 1.
ends_within() { # PID STORE SECONDS
  local pid
  for _ in $(seq 1 $(($3 * 10))); do kill -0 "$1" 2> /dev/null || return 0; sleep 0.1; done
  for pid in $(job_pids "$2"); do
    ps -L -o pid=,tid=,stat=,wchan:32=,comm= -p "$pid" || true
    gdb -p "$pid" -batch -ex "thread apply all bt 12" 2> /dev/null | grep -E "^(#|Thread)" || true
  done
  signal_job KILL "$2"
  return 1
}

# Waits (up to 5 min) until the store at STORE reports at least N tasks done.
wait_until_done() { # STORE N
  local out n
  for _ in $(seq 1 600); do
    sleep 0.5
    out=$("$FEATREUSE" status "$1" 2> /dev/null) || continue
    n=$(echo "$out" | sed -n 's/.* tasks: \([0-9]*\) done.*/\1/p')
    [ "${n:-0}" -ge "$2" ] && return 0
  done
  return 1
}
