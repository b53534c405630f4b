#include <ATen/ATen.h>

#include "buckets.hpp"
#include "featreuse/dist/overlap.hpp"
#include "featreuse/dist/reducer.hpp"

namespace featreuse::dist {

namespace {

// Non-blocking all-reduces (sums), scaled to means once complete.
class MpiAsyncAverager : public AsyncAverager {
 public:
  MpiAsyncAverager(MPI_Comm comm, int size) : comm_(comm), size_(size) {}

  void start(const at::Tensor& flat) override {
    requests_.emplace_back();
    MPI_Iallreduce(MPI_IN_PLACE, flat.data_ptr<float>(), int(flat.numel()), MPI_FLOAT, MPI_SUM, comm_,
                   &requests_.back());
    started_.push_back(flat);
  }

  void progress() override {
    int done = 0;
    if (!requests_.empty()) MPI_Testall(int(requests_.size()), requests_.data(), &done, MPI_STATUSES_IGNORE);
  }

  void wait_all() override {
    MPI_Waitall(int(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE);
    for (const auto& flat : started_) flat.mul_(1.0 / size_);
    requests_.clear();
    started_.clear();
  }

 private:
  MPI_Comm comm_;
  int size_;
  std::vector<MPI_Request> requests_;
  std::vector<at::Tensor> started_;
};

// MPI_Allreduce on host buffers: the CPU backend.
class MpiReducer : public GradientReducer {
 public:
  MpiReducer(MPI_Comm comm, const ReducerOptions& options)
      : comm_(comm), options_(options), bucket_elements_(std::max<size_t>(1, options.bucket_bytes / 4)) {
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

  std::unique_ptr<OverlappedAverage> overlapped(const std::vector<at::Tensor>& params) override {
    if (size_ == 1 || !during_backward()) return nullptr;
    return std::make_unique<OverlappedAverage>(params, std::make_unique<MpiAsyncAverager>(comm_, size_),
                                               bucket_elements_);
  }

  std::string description() const override {
    return averaging_description("MPI", during_backward(), options_.bucket_bytes);
  }

  void sum(std::vector<double>& values) override {
    if (size_ == 1 || values.empty()) return;
    MPI_Allreduce(MPI_IN_PLACE, values.data(), int(values.size()), MPI_DOUBLE, MPI_SUM, comm_);
  }

 private:
  // On CPU ranks only when asked for: overlapping came out no faster there (reducer.hpp).
  bool during_backward() const { return options_.sync == GradientSync::overlapped; }

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
  ReducerOptions options_;
  int size_ = 1;
  size_t bucket_elements_;
  at::Tensor buffer_ = at::empty({0}, at::kFloat);
};

}  // namespace

std::unique_ptr<GradientReducer> make_mpi_reducer(MPI_Comm group_comm, const ReducerOptions& options) {
  return std::make_unique<MpiReducer>(group_comm, options);
}

}  // namespace featreuse::dist
