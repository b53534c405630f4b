#include <ATen/ATen.h>

#include "buckets.hpp"
#include "featreuse/dist/reducer.hpp"

namespace featreuse::dist {

namespace {

// MPI_Allreduce on host buffers: the CPU backend.
class MpiReducer : public GradientReducer {
 public:
  MpiReducer(MPI_Comm comm, size_t bucket_bytes)
      : comm_(comm), bucket_elements_(std::max<size_t>(1, bucket_bytes / 4)) {
    MPI_Comm_size(comm, &size_);
  }

  int size() const override { return size_; }

  void average(const std::vector<at::Tensor>& tensors) override {
    check_reducible(tensors);
    if (size_ == 1) return;
    for_each_bucket(tensors, [&](const at::Tensor& flat) {
      MPI_Allreduce(MPI_IN_PLACE, flat.data_ptr<float>(), int(flat.numel()), MPI_FLOAT, MPI_SUM, comm_);
      flat.mul_(1.0 / size_);
    });
  }

  void broadcast(const std::vector<at::Tensor>& tensors) override {
    check_reducible(tensors);
    if (size_ == 1) return;
    for_each_bucket(tensors, [&](const at::Tensor& flat) {
      MPI_Bcast(flat.data_ptr<float>(), int(flat.numel()), MPI_FLOAT, 0, comm_);
    });
  }

  void sum(std::vector<double>& values) override {
    if (size_ == 1 || values.empty()) return;
    MPI_Allreduce(MPI_IN_PLACE, values.data(), int(values.size()), MPI_DOUBLE, MPI_SUM, comm_);
  }

 private:
  // Packs each bucket into one host buffer, runs `op` on it, unpacks.
  template <typename Op>
  void for_each_bucket(const std::vector<at::Tensor>& tensors, Op op) {
    for (const Bucket& bucket : plan_buckets(tensors, bucket_elements_)) {
      if (buffer_.numel() < bucket.elements) buffer_ = at::empty({bucket.elements}, at::kFloat);
      at::Tensor flat = buffer_.narrow(0, 0, bucket.elements);
      pack_bucket(tensors, bucket, flat);
      op(flat);
      unpack_bucket(tensors, bucket, flat);
    }
  }

  MPI_Comm comm_;
  int size_ = 1;
  size_t bucket_elements_;
  at::Tensor buffer_ = at::empty({0}, at::kFloat);
};

}  // namespace

std::unique_ptr<GradientReducer> make_mpi_reducer(MPI_Comm group_comm, size_t bucket_bytes) {
  return std::make_unique<MpiReducer>(group_comm, bucket_bytes);
}

}  // namespace featreuse::dist
