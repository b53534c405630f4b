#include "featreuse/dist/overlap.hpp"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>

#include "buckets.hpp"
#include "featreuse/core/error.hpp"

namespace featreuse::dist {

OverlappedAverage::OverlappedAverage(std::vector<at::Tensor> params, std::unique_ptr<AsyncAverager> averager,
                                     size_t bucket_elements)
    : params_(std::move(params)), averager_(std::move(averager)) {
  std::reverse(params_.begin(), params_.end());
  check_reducible(params_);
  lay_out_buckets(bucket_elements);
  hook_parameters();
}

void OverlappedAverage::lay_out_buckets(size_t bucket_elements) {
  buckets_ = plan_buckets(params_, std::max<size_t>(1, bucket_elements));
  bucket_of_.resize(params_.size());
  offset_.resize(params_.size());
  for (size_t b = 0; b < buckets_.size(); ++b) {
    flats_.push_back(at::empty({buckets_[b].elements}, params_[buckets_[b].first].options()));
    int64_t offset = 0;
    for (size_t i = buckets_[b].first; i < buckets_[b].last; ++i) {
      bucket_of_[i] = b;
      offset_[i] = offset;
      offset += params_[i].numel();
    }
  }
}

// A parameter without a gradient (frozen) stays zeros in its bucket, and no
// bucket waits for it.
void OverlappedAverage::hook_parameters() {
  hooked_.assign(buckets_.size(), 0);
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!params_[i].requires_grad()) {
      segment(i).zero_();
      continue;
    }
    hooks_.emplace_back(
        i, params_[i].register_hook([this, i](const at::Tensor& grad) { on_gradient(i, grad); }));
    ++hooked_[bucket_of_[i]];
  }
}

at::Tensor OverlappedAverage::segment(size_t param) const {
  return flats_[bucket_of_[param]].narrow(0, offset_[param], params_[param].numel());
}

OverlappedAverage::~OverlappedAverage() {
  for (const auto& [param, handle] : hooks_) params_[param].remove_hook(handle);
  if (!in_flight()) return;
  struct Abandoned {
    std::unique_ptr<AsyncAverager> averager;
    std::vector<at::Tensor> buckets;
  };
  static auto* abandoned = new std::vector<Abandoned>();  // never freed, not even at exit
  abandoned->push_back({std::move(averager_), std::move(flats_)});
}

void OverlappedAverage::begin_step() {
  arrived_.assign(params_.size(), 0);
  missing_ = hooked_;
  next_bucket_ = 0;
  armed_ = true;
}

// Runs inside backward (on the autograd engine's thread for the parameter's
// device): the gradient goes into its bucket, complete buckets start.
void OverlappedAverage::on_gradient(size_t param, const at::Tensor& grad) {
  if (!armed_) return;  // a backward outside a training step (tests, tools)
  if (arrived_[param])
    throw Error("data-parallel averaging: a parameter got two gradients in one step (two backward passes?)");
  arrived_[param] = 1;
  const size_t b = bucket_of_[param];
  segment(param).copy_(grad.detach().reshape({-1}));
  --missing_[b];
  start_complete_buckets();
  averager_->progress();
}

void OverlappedAverage::start_complete_buckets() {
  while (next_bucket_ < buckets_.size() && missing_[next_bucket_] == 0)
    averager_->start(flats_[next_bucket_++]);
}

// A parameter without a gradient this step (unused) averages zeros.
void OverlappedAverage::zero_missing(size_t bucket) {
  for (size_t i = buckets_[bucket].first; i < buckets_[bucket].last; ++i)
    if (!arrived_[i] && params_[i].requires_grad()) segment(i).zero_();
  missing_[bucket] = 0;
}

void OverlappedAverage::finish() {
  if (!armed_) throw Error("data-parallel averaging: finish() without begin_step()");
  for (size_t b = next_bucket_; b < buckets_.size(); ++b) zero_missing(b);
  start_complete_buckets();
  averager_->wait_all();
  armed_ = false;  // only now: a start or wait that throws leaves the step in flight
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    const at::Tensor mean = segment(i).view(params_[i].sizes());
    at::Tensor& grad = params_[i].mutable_grad();
    if (grad.defined())
      grad.copy_(mean);
    else
      grad = mean.clone();
  }
}

}  // namespace featreuse::dist
