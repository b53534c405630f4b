#include "featreuse/dist/topology.hpp"

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "featreuse/core/error.hpp"

namespace featreuse::dist {

Topology make_topology(MPI_Comm world, int ranks_per_task) {
  Topology t;
  t.world = world;
  MPI_Comm_rank(world, &t.world_rank);
  MPI_Comm_size(world, &t.world_size);
  if (ranks_per_task < 1 || t.world_size % ranks_per_task != 0)
    throw Error("--ranks-per-task " + std::to_string(ranks_per_task) + " must divide the number of ranks (" +
                std::to_string(t.world_size) + ")");
  MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, t.world_rank, MPI_INFO_NULL, &t.local_comm);
  MPI_Comm_rank(t.local_comm, &t.local_rank);
  MPI_Comm_size(t.local_comm, &t.local_size);

  t.group_size = ranks_per_task;
  t.group_count = t.world_size / ranks_per_task;
  t.group = t.world_rank / ranks_per_task;
  MPI_Comm_split(world, t.group, t.world_rank, &t.group_comm);
  MPI_Comm_rank(t.group_comm, &t.group_rank);
  MPI_Comm_dup(t.group_comm, &t.failure_comm);

  // A group must live on one node: its ranks share a node-local leader.
  int node_leader = t.world_rank;  // after the broadcast: the world rank of local rank 0
  MPI_Bcast(&node_leader, 1, MPI_INT, 0, t.local_comm);
  int lo = node_leader, hi = node_leader;
  MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_INT, MPI_MIN, t.group_comm);
  MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_INT, MPI_MAX, t.group_comm);
  int split = lo != hi;
  MPI_Allreduce(MPI_IN_PLACE, &split, 1, MPI_INT, MPI_MAX, world);
  if (split)
    throw Error(
        "a group of " + std::to_string(ranks_per_task) +
        " ranks would span nodes: place ranks by node (e.g. --map-by node:PE=... or srun --ntasks-per-node "
        "a multiple of --ranks-per-task)");
  return t;
}

void free_topology(Topology& t) {
  if (t.group_comm != MPI_COMM_NULL) MPI_Comm_free(&t.group_comm);
  if (t.failure_comm != MPI_COMM_NULL) MPI_Comm_free(&t.failure_comm);
  if (t.local_comm != MPI_COMM_NULL) MPI_Comm_free(&t.local_comm);
}

void wait_sleeping(MPI_Request& request, int poll_ms) {
  int done = 0;
  while (true) {
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (done) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(poll_ms));
  }
}

bool all_arrive_within(MPI_Comm comm, double timeout_s) {
  MPI_Request request;
  MPI_Ibarrier(comm, &request);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  int done = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (done) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;  // the request stays pending: the caller aborts the job
}

void barrier_sleeping(MPI_Comm comm) {
  MPI_Request request;
  MPI_Ibarrier(comm, &request);
  wait_sleeping(request, 20);
}

}  // namespace featreuse::dist
