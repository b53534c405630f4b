# A private single-node Slurm cluster for a test, from Debian's slurm-wlm and
# munge: a munge daemon with its own key and socket, slurmctld and slurmd on
# this machine with a configuration, state and logs under one folder, on
# ports of their own, so nothing of the system's Slurm or munge is used or
# changed. Sourced by tests; needs root (SlurmUser=root).
#   slurm_cluster_start DIR   starts it and waits until the node is idle; exports SLURM_CONF
#   slurm_cluster_stop        stops what slurm_cluster_start started

slurm_cluster_pids=()

slurm_cluster_start() { # DIR
  local dir=$1 host port dport
  for tool in munged mungekey slurmctld slurmd sbatch scontrol; do
    command -v "$tool" > /dev/null || {
      echo "slurm_cluster: $tool not found (apt-get install slurm-wlm munge; scripts/install-deps.sh does)" >&2
      return 1
    }
  done
  host=$(hostname -s)
  # Two ports the kernel says are free now (bound to port 0, then released),
  # so two test runs on one machine, or another service, do not meet.
  read -r port dport < <(/usr/bin/python3 -c 'import socket
socks = [socket.socket() for _ in range(2)]
for s in socks: s.bind(("", 0))
print(*(s.getsockname()[1] for s in socks))')
  mkdir -p "$dir/munge-key" "$dir/munge" "$dir/state" "$dir/spool" "$dir/log"
  chmod 700 "$dir/munge-key"
  chmod 755 "$dir/munge" # munged's socket must be reachable by every user
  mungekey --create --keyfile="$dir/munge-key/munge.key"
  munged --foreground --force --socket="$dir/munge/socket" --key-file="$dir/munge-key/munge.key" \
    --pid-file="$dir/munge/munged.pid" --seed-file="$dir/munge-key/seed" --log-file="$dir/log/munged.log" \
    > "$dir/log/munged.out" 2>&1 &
  slurm_cluster_pids+=($!)
  cat > "$dir/slurm.conf" << EOF
ClusterName=featreuse-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/socket
CredType=cred/munge
SlurmctldPort=$port
SlurmdPort=$dport
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
# The node offers 4 CPUs whatever the machine has (a job of 2-4 ranks runs on
# any test machine; the ranks then share its cores).
SlurmdParameters=config_overrides
KillWait=60
InactiveLimit=0
MinJobAge=600
NodeName=$host CPUs=4 RealMemory=1000 State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF=$dir/slurm.conf
  local i
  for i in $(seq 1 50); do [ -S "$dir/munge/socket" ] && break; sleep 0.1; done
  slurmctld -D -i -f "$SLURM_CONF" > "$dir/log/slurmctld.out" 2>&1 &
  slurm_cluster_pids+=($!)
  slurmd -D -f "$SLURM_CONF" > "$dir/log/slurmd.out" 2>&1 &
  slurm_cluster_pids+=($!)
  for i in $(seq 1 120); do
    [ "$(sinfo -h -N -o %t 2> /dev/null)" = idle ] && return 0
    sleep 0.5
  done
  echo "slurm_cluster: the node did not become idle in 60 s; logs:" >&2
  tail -n 20 "$dir"/log/* >&2
  return 1
}

slurm_cluster_stop() {
  local pid i
  if [ -n "${SLURM_CONF:-}" ] && [ ${#slurm_cluster_pids[@]} -gt 0 ]; then
    # Jobs first, while the daemons that end them are still there.
    scancel --full --quiet --partition=test 2> /dev/null
    for i in $(seq 1 100); do
      [ -z "$(squeue -h -o %i 2> /dev/null)" ] && break
      sleep 0.2
    done
  fi
  # slurmd, slurmctld, munged: the reverse of their start.
  for ((i = ${#slurm_cluster_pids[@]} - 1; i >= 0; i--)); do
    pid=${slurm_cluster_pids[$i]}
    kill "$pid" 2> /dev/null || continue
    timeout 20 tail --pid="$pid" -f /dev/null || kill -9 "$pid" 2> /dev/null
  done
  slurm_cluster_pids=()
}
