#pragma once
// Gradient averaging overlapped with the backward pass, as PyTorch's DDP does:
// a hook on each parameter copies its gradient into a flat bucket as backward
// produces it; once a bucket holds all its gradients, its average starts
// asynchronously, buckets always in the same order on every rank (reverse
// parameter order, the order backward fills them, so collectives match
// across ranks); finish() waits for them and writes the means into the
// parameters' gradients. A parameter that got no gradient counts as zeros, as
// averaging after backward treats it. One backward per step.
#include <ATen/core/Tensor.h>

#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

namespace featreuse::dist {

struct Bucket;

// A backend's asynchronous in-place average of flat float32 buffers, started
// in the same order on every rank of the group.
class AsyncAverager {
 public:
  virtual ~AsyncAverager() = default;
  virtual void start(const at::Tensor& flat) = 0;
  virtual void progress() {}    // lets started averages advance (MPI progresses inside its calls)
  virtual void wait_all() = 0;  // every started average is complete and visible
};

class OverlappedAverage {
 public:
  // Hooks every parameter of `params` that requires a gradient.
  OverlappedAverage(std::vector<at::Tensor> params, std::unique_ptr<AsyncAverager> averager,
                    size_t bucket_elements);
  // Removes the hooks. Averages a step left in flight (an exception inside
  // backward) may still write into the buckets, and waiting for them could
  // hang (the other ranks may never start theirs): then the buckets and the
  // backend are kept until the process ends, which in_flight() tells the
  // caller to bring about.
  ~OverlappedAverage();
  OverlappedAverage(const OverlappedAverage&) = delete;
  OverlappedAverage& operator=(const OverlappedAverage&) = delete;

  void begin_step();  // before the step's backward: gradients from now on are averaged
  void finish();      // after it: every parameter's gradient is the group's mean
  // A step began, started averages and did not finish: the group's
  // collectives may no longer match, so this process must not train again.
  bool in_flight() const { return armed_ && next_bucket_ > 0; }

 private:
  void lay_out_buckets(size_t bucket_elements);
  void hook_parameters();
  at::Tensor segment(size_t param) const;  // the parameter's place in its bucket
  void on_gradient(size_t param, const at::Tensor& grad);
  void start_complete_buckets();
  void zero_missing(size_t bucket);

  std::vector<at::Tensor> params_;  // reverse parameter order
  std::unique_ptr<AsyncAverager> averager_;
  std::vector<Bucket> buckets_;
  std::vector<at::Tensor> flats_;                   // one buffer per bucket
  std::vector<size_t> bucket_of_;                   // per parameter
  std::vector<int64_t> offset_;                     // per parameter, in its bucket
  std::vector<std::pair<size_t, unsigned>> hooks_;  // (parameter, handle)
  std::vector<char> arrived_;                       // per parameter, this step
  std::vector<size_t> hooked_;                      // per bucket, parameters that get gradients
  std::vector<size_t> missing_;                     // per bucket, gradients still to come this step
  size_t next_bucket_ = 0;                          // the next bucket to start
  bool armed_ = false;
};

}  // namespace featreuse::dist
