#pragma once
// Where this process sits: world -> groups of G consecutive ranks (one task
// each, data-parallel inside) -> node-local rank (for device choice).
#include <mpi.h>

namespace featreuse::dist {

struct Topology {
  MPI_Comm world = MPI_COMM_NULL;
  MPI_Comm group_comm = MPI_COMM_NULL;  // the ranks training one task together
  MPI_Comm local_comm = MPI_COMM_NULL;  // the ranks on this node
  // The group again, apart from its collectives: a failing rank meets the
  // others here without matching a collective they may be inside.
  MPI_Comm failure_comm = MPI_COMM_NULL;
  int world_rank = 0, world_size = 1;
  int group = 0, group_count = 1;
  int group_rank = 0, group_size = 1;
  int local_rank = 0, local_size = 1;
  bool leader() const { return group_rank == 0; }
};

// Collective over `world`. Throws featreuse::Error when `ranks_per_task` does
// not divide the world or a group would span nodes.
Topology make_topology(MPI_Comm world, int ranks_per_task);
void free_topology(Topology& topology);

// Waits for a non-blocking MPI request while sleeping between polls, so idle
// ranks do not spin a core that a training rank on the same node needs.
void wait_sleeping(MPI_Request& request, int poll_ms = 5);

// A barrier that sleeps while it waits (see wait_sleeping).
void barrier_sleeping(MPI_Comm comm);

// True when every rank of `comm` calls this within `timeout_s`: a failure
// the whole group met at the same point. False when some rank is elsewhere
// (inside a collective the failed rank will never join).
bool all_arrive_within(MPI_Comm comm, double timeout_s);

}  // namespace featreuse::dist
