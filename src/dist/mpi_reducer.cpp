#include <ATen/ATen.h>

#include "featreuse/core/error.hpp"
#include "featreuse/dist/reducer.hpp"

namespace featreuse::dist {

namespace {

class MpiReducer : public GradientReducer {
 public:
  MpiReducer(MPI_Comm comm, size_t bucket_bytes)
      : comm_(comm), bucket_floats_(std::max<size_t>(1, bucket_bytes / 4)) {
    MPI_Comm_size(comm, &size_);
  }

  int size() const override { return size_; }

  void average(const std::vector<at::Tensor>& tensors) override {
    check(tensors);
    if (size_ == 1) return;
    for_each_bucket(tensors, [&](float* data, size_t n) {
      MPI_Allreduce(MPI_IN_PLACE, data, int(n), MPI_FLOAT, MPI_SUM, comm_);
      const float scale = 1.0f / float(size_);
      for (size_t i = 0; i < n; ++i) data[i] *= scale;
    });
  }

  void broadcast(const std::vector<at::Tensor>& tensors) override {
    check(tensors);
    if (size_ == 1) return;
    for_each_bucket(tensors, [&](float* data, size_t n) { MPI_Bcast(data, int(n), MPI_FLOAT, 0, comm_); });
  }

  void sum(std::vector<double>& values) override {
    if (size_ == 1 || values.empty()) return;
    MPI_Allreduce(MPI_IN_PLACE, values.data(), int(values.size()), MPI_DOUBLE, MPI_SUM, comm_);
  }

 private:
  // Packs consecutive tensors into a bucket, runs `op` on it, unpacks.
  template <typename Op>
  void for_each_bucket(const std::vector<at::Tensor>& tensors, Op op) {
    size_t first = 0;
    while (first < tensors.size()) {
      size_t last = first, floats = 0;
      while (last < tensors.size() &&
             (last == first || floats + size_t(numel(tensors[last])) <= bucket_floats_)) {
        floats += size_t(numel(tensors[last]));
        ++last;
      }
      bucket_.resize(floats);
      size_t offset = 0;
      for (size_t i = first; i < last; ++i) {
        const int64_t n = numel(tensors[i]);
        at::Tensor view = at::from_blob(bucket_.data() + offset, {n}, at::kFloat);
        view.copy_(tensors[i].detach().reshape({-1}));
        offset += size_t(n);
      }
      op(bucket_.data(), floats);
      offset = 0;
      for (size_t i = first; i < last; ++i) {
        const int64_t n = numel(tensors[i]);
        tensors[i].detach().copy_(at::from_blob(bucket_.data() + offset, tensors[i].sizes(), at::kFloat));
        offset += size_t(n);
      }
      first = last;
    }
  }

  // Every rank must pass the same layout of defined float32 tensors.
  static void check(const std::vector<at::Tensor>& tensors) {
    for (const auto& t : tensors) {
      if (!t.defined()) throw Error("reducer: undefined tensor (zero-fill missing gradients first)");
      if (t.scalar_type() != at::kFloat) throw Error("reducer: only float32 tensors are reduced");
    }
  }

  static int64_t numel(const at::Tensor& t) { return t.numel(); }

  MPI_Comm comm_;
  int size_ = 1;
  size_t bucket_floats_;
  std::vector<float> bucket_;
};

}  // namespace

std::unique_ptr<GradientReducer> make_mpi_reducer(MPI_Comm group_comm, size_t bucket_bytes) {
  return std::make_unique<MpiReducer>(group_comm, bucket_bytes);
}

}  // namespace featreuse::dist
