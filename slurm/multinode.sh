#!/bin/bash
# Example: one study over several GPU nodes, submitted with featreuse.sbatch.
# Every node runs GPUS ranks, one per GPU; tasks train on one rank each (the
# paper's per-GPU batch of 64) unless run options say --ranks-per-task G (G
# ranks of one node train a task together, G dividing GPUS). The store and
# the data must be on a file system every node sees (Lustre, GPFS, NFS).
#
#   NODES=4 GPUS=8 slurm/multinode.sh jobs/paper/table1.yaml /shared/paper.h5 --device cuda --strict
#
# NODES (default 2), GPUS (GPUs per node, default 8), CPUS (cores per rank,
# default 8), TIME (default 24:00:00); further sbatch options in SBATCH_ARGS
# (e.g. "--partition=gpu --account=proj").
set -euo pipefail
nodes=${NODES:-2} gpus=${GPUS:-8}
# shellcheck disable=SC2086 # SBATCH_ARGS is a list of options
exec sbatch --nodes="$nodes" --ntasks-per-node="$gpus" --ntasks=$((nodes * gpus)) \
  --gpus-per-node="$gpus" --cpus-per-task="${CPUS:-8}" --time="${TIME:-24:00:00}" \
  ${SBATCH_ARGS:-} "$(dirname "$0")/featreuse.sbatch" "$@"
