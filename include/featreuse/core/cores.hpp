#pragma once
// How many cores a process may use, and how many compute threads each rank
// of a node gets by default. The affinity mask, not the machine, decides:
// under Slurm's cgroups, `taskset` or mpirun's binding a rank may use fewer
// cores than the node has.
#include <mpi.h>

namespace featreuse {

// The cores this process may run on (its affinity mask; the machine's count
// where the mask cannot be read), at least 1.
int usable_cores();

// Compute threads for this rank, collective over `comm`: SLURM_CPUS_PER_TASK
// when Slurm sets it; else the rank's usable cores divided among the ranks of
// its node whose masks overlap its own (ranks bound to cores of their own
// keep theirs; ranks that share the node's cores split them), at least 1.
int threads_per_rank(MPI_Comm comm);

}  // namespace featreuse
