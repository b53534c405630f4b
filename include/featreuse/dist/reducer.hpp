#pragma once
// The gradient-reducer seam of data-parallel groups: one interface, an MPI
// backend for CPU and an NCCL backend for GPUs (in builds with NCCL).
// Gradients are packed into fixed buckets in parameter order, so every step
// reduces the same layout (deterministic across ranks and steps).
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <mpi.h>

#include <memory>
#include <vector>

namespace featreuse::dist {

class GradientReducer {
 public:
  virtual ~GradientReducer() = default;
  virtual int size() const = 0;  // ranks in the group
  // Replaces each tensor by its mean over the group. Every rank passes the
  // same list (same shapes, all defined, float32).
  virtual void average(const std::vector<at::Tensor>& tensors) = 0;
  // Copies group rank 0's tensors to every rank (weights after init).
  virtual void broadcast(const std::vector<at::Tensor>& tensors) = 0;
  // Sums values over the group in place (metrics, counts).
  virtual void sum(std::vector<double>& values) = 0;
};

// MPI_Allreduce over `group_comm` in float32 buckets of at most `bucket_bytes`.
std::unique_ptr<GradientReducer> make_mpi_reducer(MPI_Comm group_comm, size_t bucket_bytes = 25u << 20);

// The backend for tensors on `device`: NCCL (ncclAvg, one communicator per
// group) for a CUDA device, MPI otherwise. Collective over `group_comm`.
// Throws featreuse::Error for a CUDA device in a build without NCCL.
std::unique_ptr<GradientReducer> make_reducer(MPI_Comm group_comm, c10::Device device,
                                              size_t bucket_bytes = 25u << 20);
bool nccl_available();

}  // namespace featreuse::dist
