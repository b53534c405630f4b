#include "featreuse/core/cores.hpp"

#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <thread>
#include <vector>

namespace featreuse {

namespace {
// This process's affinity mask; false when it cannot be read.
bool affinity_mask(cpu_set_t* mask) {
  CPU_ZERO(mask);
  return sched_getaffinity(0, sizeof(cpu_set_t), mask) == 0 && CPU_COUNT(mask) > 0;
}

int machine_cores() { return int(std::max(1u, std::thread::hardware_concurrency())); }

// How many of the node's ranks (this one included) may run on a core of `mine`.
int ranks_sharing(const cpu_set_t& mine, MPI_Comm comm) {
  MPI_Comm node;
  MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  int size = 1;
  MPI_Comm_size(node, &size);
  std::vector<cpu_set_t> masks(static_cast<size_t>(size));
  MPI_Allgather(&mine, int(sizeof(cpu_set_t)), MPI_BYTE, masks.data(), int(sizeof(cpu_set_t)), MPI_BYTE,
                node);
  MPI_Comm_free(&node);
  int sharing = 0;
  for (cpu_set_t& other : masks) {
    cpu_set_t common;
    CPU_AND(&common, &other, &mine);
    if (CPU_COUNT(&common) > 0) ++sharing;
  }
  return std::max(1, sharing);
}
}  // namespace

int usable_cores() {
  cpu_set_t mask;
  return affinity_mask(&mask) ? CPU_COUNT(&mask) : machine_cores();
}

int threads_per_rank(MPI_Comm comm) {
  if (const char* env = std::getenv("SLURM_CPUS_PER_TASK")) {
    const int n = std::atoi(env);
    if (n > 0) return n;  // every rank reads the same environment: none enters the exchange below
  }
  cpu_set_t mask;
  if (!affinity_mask(&mask)) {
    CPU_ZERO(&mask);
    for (int c = 0; c < std::min(machine_cores(), CPU_SETSIZE); ++c) CPU_SET(c, &mask);
  }
  return std::max(1, CPU_COUNT(&mask) / ranks_sharing(mask, comm));
}

}  // namespace featreuse
