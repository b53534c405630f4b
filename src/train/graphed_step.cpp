#include "graphed_step.hpp"

#include "featreuse/core/error.hpp"

#ifdef FEATREUSE_WITH_CUDA
#include <ATen/autocast_mode.h>
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <map>
#include <string>
#include <tuple>
#endif

namespace featreuse::train {

#ifdef FEATREUSE_WITH_CUDA
namespace {

// What a graph is captured for: the batch's and the labels' shapes and types.
using BatchKey = std::tuple<std::vector<int64_t>, std::vector<int64_t>, int, int>;

BatchKey key_of(const at::Tensor& images, const at::Tensor& labels) {
  return {images.sizes().vec(), labels.sizes().vec(), int(images.scalar_type()), int(labels.scalar_type())};
}

// `waiting` runs its later work after what `done_first` has queued so far.
void wait_for(const c10::cuda::CUDAStream& waiting, const c10::cuda::CUDAStream& done_first) {
  at::cuda::CUDAEvent event;
  event.record(done_first);
  event.block(waiting);
}

// One batch shape: how often it ran eagerly, then its graph with the static
// tensors the graph reads (the batch) and writes (the loss).
struct ShapeGraph {
  int eager_runs = 0;
  bool captured = false;
  at::Tensor images, labels, loss;
  at::cuda::CUDAGraph graph;
};

// The autocast cast cache off while capturing: casts are replayed with the
// graph, none may be cached from one replay to the next.
class NoAutocastCache {
 public:
  NoAutocastCache() : was_(at::autocast::is_autocast_cache_enabled()) {
    at::autocast::set_autocast_cache_enabled(false);
  }
  ~NoAutocastCache() { at::autocast::set_autocast_cache_enabled(was_); }

 private:
  bool was_;
};

class CudaGraphedStep : public GraphedStep {
 public:
  CudaGraphedStep(LossOf loss_of, std::vector<at::Tensor> params, int warmup_steps)
      : loss_of_(std::move(loss_of)),
        warmup_steps_(warmup_steps),
        device_(params.empty() ? c10::DeviceIndex(0) : params.front().device().index()),
        side_(c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device_)) {
    for (auto& p : params)
      if (p.requires_grad()) params_.push_back(p);
  }

  // On a side stream of its own, as capture requires (never the default
  // stream), joined to the caller's stream before and after.
  at::Tensor forward_backward(const at::Tensor& images, const at::Tensor& labels) override {
    define_gradients();
    const c10::cuda::CUDAStream caller = c10::cuda::getCurrentCUDAStream(device_);
    wait_for(side_, caller);
    at::Tensor loss;
    {
      c10::cuda::CUDAStreamGuard on_side(side_);
      ShapeGraph& shape = shapes_[key_of(images, labels)];
      if (!shape.captured && shape.eager_runs < warmup_steps_) {
        ++shape.eager_runs;
        loss = eager(images, labels);
      } else {
        if (!shape.captured) capture(shape, images, labels);
        loss = replay(shape, images, labels);
      }
    }
    wait_for(caller, side_);
    return loss;
  }

 private:
  // Gradients that exist from the first step on and are only ever zeroed in
  // place, so a captured backward accumulates into the tensors the optimiser reads.
  void define_gradients() {
    for (auto& p : params_)
      if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
  }

  void zero_gradients() {
    for (auto& p : params_) p.grad().zero_();
  }

  at::Tensor eager(const at::Tensor& images, const at::Tensor& labels) {
    zero_gradients();
    at::Tensor loss = loss_of_(images, labels);
    loss.backward();
    return loss;
  }

  void capture(ShapeGraph& shape, const at::Tensor& images, const at::Tensor& labels) {
    shape.images = images.clone();
    shape.labels = labels.clone();
    std::vector<at::Tensor> gradients;
    for (const auto& p : params_) gradients.push_back(p.grad());
    c10::cuda::device_synchronize();
    bool capturing = false;
    try {
      NoAutocastCache no_cache;
      // Thread-local: the loader's threads may touch the GPU meanwhile.
      shape.graph.capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
      capturing = true;
      zero_gradients();
      shape.loss = loss_of_(shape.images, shape.labels);
      shape.loss.backward();
      capturing = false;
      shape.graph.capture_end();
    } catch (const std::exception& e) {
      end_failed_capture(shape, capturing);
      throw ProcessUnusable(std::string("cuda_graphs: capturing the training step failed (train without "
                                        "cuda_graphs): ") +
                            e.what());
    }
    shape.captured = true;
    for (size_t i = 0; i < params_.size(); ++i)
      if (!params_[i].grad().is_same(gradients[i]))
        throw Error(
            "cuda_graphs: backward replaced a gradient tensor while the step was captured, so "
            "replays would not reach the optimiser; train without cuda_graphs");
  }

  // A capture that failed part way still holds the side stream in capture
  // mode; ending it (its own error, for an invalidated capture, says nothing
  // new) frees the stream. The GPU's random generator stays marked as
  // capturing (LibTorch clears that only after a capture that ended well),
  // so later dropout on this GPU would fail: the caller stops the process.
  static void end_failed_capture(ShapeGraph& shape, bool capturing) {
    if (!capturing) return;
    try {
      shape.graph.capture_end();
    } catch (const std::exception&) {
    }
    (void)cudaGetLastError();  // a failed capture leaves a (non-sticky) error behind: clear it
  }

  at::Tensor replay(ShapeGraph& shape, const at::Tensor& images, const at::Tensor& labels) {
    shape.images.copy_(images, /*non_blocking=*/true);
    shape.labels.copy_(labels, /*non_blocking=*/true);
    shape.graph.replay();
    return shape.loss;
  }

  LossOf loss_of_;
  std::vector<at::Tensor> params_;  // those that train
  int warmup_steps_;
  c10::DeviceIndex device_;
  c10::cuda::CUDAStream side_;
  std::map<BatchKey, ShapeGraph> shapes_;
};

}  // namespace

std::unique_ptr<GraphedStep> make_graphed_step(LossOf loss_of, std::vector<at::Tensor> params,
                                               int warmup_steps) {
  return std::make_unique<CudaGraphedStep>(std::move(loss_of), std::move(params), warmup_steps);
}

#else

std::unique_ptr<GraphedStep> make_graphed_step(LossOf, std::vector<at::Tensor>, int) {
  throw Error("cuda_graphs: this build has no CUDA (build against a CUDA LibTorch: scripts/build-cuda.sh)");
}

#endif

}  // namespace featreuse::train
