// The GPU backend: NCCL collectives on the group's CUDA devices, one
// communicator per group whose id group rank 0 makes and broadcasts over the
// group's MPI communicator. Compiled only when the build has NCCL.
#include <ATen/ATen.h>
#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <nccl.h>

#include <exception>
#include <string>

#include "buckets.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/dist/overlap.hpp"
#include "featreuse/dist/reducer.hpp"

namespace featreuse::dist {

namespace {

void check_nccl(ncclResult_t result, const char* what) {
  if (result != ncclSuccess) throw Error(std::string("NCCL ") + what + ": " + ncclGetErrorString(result));
}

// ncclAvg all-reduces on a stream of their own, each after the work queued so
// far on the stream of the thread that starts it (where backward packed the
// bucket); wait_all() puts the current stream behind them. The buckets'
// buffers live as long as the OverlappedAverage, which frees them only after
// a wait_all(), so the allocator needs no word about the second stream.
class NcclAsyncAverager : public AsyncAverager {
 public:
  NcclAsyncAverager(ncclComm_t comm, c10::Device device)
      : comm_(comm),
        device_(device),
        stream_(c10::cuda::getStreamFromPool(/*isHighPriority=*/true, device.index())) {}

  void start(const at::Tensor& flat) override {
    c10::cuda::CUDAGuard guard(device_);
    at::cuda::CUDAEvent packed;
    packed.record(c10::cuda::getCurrentCUDAStream(device_.index()));
    packed.block(stream_);
    check_nccl(ncclAllReduce(flat.data_ptr(), flat.data_ptr(), size_t(flat.numel()), ncclFloat, ncclAvg,
                             comm_, stream_.stream()),
               "ncclAllReduce");
  }

  void wait_all() override {
    c10::cuda::CUDAGuard guard(device_);
    at::cuda::CUDAEvent reduced;
    reduced.record(stream_);
    reduced.block(c10::cuda::getCurrentCUDAStream(device_.index()));
  }

 private:
  ncclComm_t comm_;
  c10::Device device_;
  c10::cuda::CUDAStream stream_;
};

class NcclReducer : public GradientReducer {
 public:
  NcclReducer(MPI_Comm group_comm, c10::Device device, const ReducerOptions& options)
      : mpi_(make_mpi_reducer(group_comm, options)),
        device_(device),
        options_(options),
        bucket_elements_(std::max<size_t>(1, options.bucket_bytes / 4)) {
    int rank = 0;
    MPI_Comm_rank(group_comm, &rank);
    MPI_Comm_size(group_comm, &size_);
    ncclUniqueId id;
    if (rank == 0) check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
    MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, group_comm);
    c10::cuda::CUDAGuard guard(device_);
    check_nccl(ncclCommInitRank(&comm_, size_, id, rank), "ncclCommInitRank");
  }

  // While an exception unwinds (a task that left the process unusable, on its
  // way to MPI_Abort) collectives may be in flight that never complete:
  // ncclCommDestroy would wait for them, ncclCommAbort does not.
  ~NcclReducer() override {
    if (comm_ == nullptr) return;
    if (std::uncaught_exceptions() > 0)
      ncclCommAbort(comm_);
    else
      ncclCommDestroy(comm_);
  }

  int size() const override { return size_; }

  void average(const std::vector<at::Tensor>& tensors) override {
    check_on_device(tensors);
    if (size_ == 1) return;
    for_each_bucket(tensors, [&](const at::Tensor& flat, cudaStream_t stream) {
      check_nccl(ncclAllReduce(flat.data_ptr(), flat.data_ptr(), size_t(flat.numel()), ncclFloat, ncclAvg,
                               comm_, stream),
                 "ncclAllReduce");
    });
  }

  void broadcast(const std::vector<at::Tensor>& tensors) override {
    check_on_device(tensors);
    if (size_ == 1) return;
    for_each_bucket(tensors, [&](const at::Tensor& flat, cudaStream_t stream) {
      check_nccl(
          ncclBroadcast(flat.data_ptr(), flat.data_ptr(), size_t(flat.numel()), ncclFloat, 0, comm_, stream),
          "ncclBroadcast");
    });
  }

  std::unique_ptr<OverlappedAverage> overlapped(const std::vector<at::Tensor>& params) override {
    if (size_ == 1 || !during_backward()) return nullptr;
    check_on_device(params);
    return std::make_unique<OverlappedAverage>(params, std::make_unique<NcclAsyncAverager>(comm_, device_),
                                               bucket_elements_);
  }

  // Host numbers (metrics, counts) go over MPI: no device round trip.
  void sum(std::vector<double>& values) override { mpi_->sum(values); }

  std::string description() const override {
    return averaging_description("NCCL", during_backward(), options_.bucket_bytes);
  }

 private:
  // NCCL's collectives run beside the backward kernels: overlapped unless told otherwise.
  bool during_backward() const { return options_.sync != GradientSync::after_backward; }

  // Packing, the collective and unpacking are queued in order on the current
  // stream of the device, so no synchronisation is needed between them.
  template <typename Op>
  void for_each_bucket(const std::vector<at::Tensor>& tensors, Op op) {
    c10::cuda::CUDAGuard guard(device_);
    const cudaStream_t stream = c10::cuda::getCurrentCUDAStream(device_.index()).stream();
    for (const Bucket& bucket : plan_buckets(tensors, bucket_elements_)) {
      if (!buffer_.defined() || buffer_.numel() < bucket.elements)
        buffer_ = at::empty({bucket.elements}, at::TensorOptions().dtype(at::kFloat).device(device_));
      at::Tensor flat = buffer_.narrow(0, 0, bucket.elements);
      pack_bucket(tensors, bucket, flat);
      op(flat, stream);
      unpack_bucket(tensors, bucket, flat);
    }
  }

  void check_on_device(const std::vector<at::Tensor>& tensors) const {
    check_reducible(tensors);
    for (const auto& t : tensors)
      if (t.device() != device_)
        throw Error("reducer: a tensor is on " + t.device().str() + ", the group's NCCL device is " +
                    device_.str());
  }

  std::unique_ptr<GradientReducer> mpi_;
  c10::Device device_;
  ReducerOptions options_;
  size_t bucket_elements_;
  int size_ = 1;
  ncclComm_t comm_ = nullptr;
  at::Tensor buffer_;
};

}  // namespace

std::unique_ptr<GradientReducer> make_nccl_reducer(MPI_Comm group_comm, c10::Device device,
                                                   const ReducerOptions& options) {
  return std::make_unique<NcclReducer>(group_comm, device, options);
}

}  // namespace featreuse::dist
