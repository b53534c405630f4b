#pragma once
// The gradient-reducer seam of data-parallel groups: one interface, an MPI
// backend for CPU and an NCCL backend for GPUs (in builds with NCCL).
// Gradients are packed into fixed buckets in parameter order, so every step
// reduces the same layout (deterministic across ranks and steps).
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <mpi.h>

#include <memory>
#include <string>
#include <vector>

namespace featreuse::dist {

class OverlappedAverage;

// When a group averages its gradients: during backward, each bucket as soon
// as its gradients are in (overlap.hpp), or all of them after backward.
// Automatic: overlapped on NCCL (its collectives run beside the backward
// kernels), after backward on MPI (on CPU ranks the overlapped averages came
// out no faster: docs/performance.md).
enum class GradientSync { automatic, overlapped, after_backward };

// "auto" / "overlapped" / "after-backward" (the --allreduce flag); throws featreuse::Error naming the
// choices.
GradientSync parse_gradient_sync(const std::string& text);
const char* gradient_sync_name(GradientSync sync);

struct ReducerOptions {
  size_t bucket_bytes = 25u << 20;
  GradientSync sync = GradientSync::automatic;
};

class GradientReducer {
 public:
  virtual ~GradientReducer() = default;
  virtual int size() const = 0;  // ranks in the group
  // Replaces each tensor by its mean over the group. Every rank passes the
  // same list (same shapes, all defined, float32).
  virtual void average(const std::vector<at::Tensor>& tensors) = 0;
  // Averaging of `params`' gradients that runs during backward, or null when
  // the options ask for averaging after backward (call average() then) or the
  // group is one rank.
  virtual std::unique_ptr<OverlappedAverage> overlapped(const std::vector<at::Tensor>& params) = 0;
  // Copies group rank 0's tensors to every rank (weights after init).
  virtual void broadcast(const std::vector<at::Tensor>& tensors) = 0;
  // Sums values over the group in place (metrics, counts).
  virtual void sum(std::vector<double>& values) = 0;
  // How gradients are averaged, for the run's log: "MPI, after backward, 25 MB buckets".
  virtual std::string description() const = 0;
};

// A reducer's description(): "MPI, after backward, 25 MB buckets" ("10.24 KB" below a MB).
std::string averaging_description(const char* backend, bool during_backward, size_t bucket_bytes);

// MPI_Allreduce over `group_comm` in float32 buckets of at most `bucket_bytes`
// (MPI_Iallreduce when overlapped).
std::unique_ptr<GradientReducer> make_mpi_reducer(MPI_Comm group_comm, const ReducerOptions& options = {});

// The backend for tensors on `device`: NCCL (ncclAvg, one communicator per
// group) for a CUDA device, MPI otherwise. Collective over `group_comm`.
// Throws featreuse::Error for a CUDA device in a build without NCCL.
std::unique_ptr<GradientReducer> make_reducer(MPI_Comm group_comm, c10::Device device,
                                              const ReducerOptions& options = {});
bool nccl_available();

}  // namespace featreuse::dist
