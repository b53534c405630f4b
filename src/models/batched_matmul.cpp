#include "featreuse/models/batched_matmul.hpp"

#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/bmm.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/matmul.h>
#include <torch/csrc/autograd/custom_function.h>

#include <vector>

#include "featreuse/core/error.hpp"

namespace featreuse::models {

namespace {

bool worth_splitting(const at::Tensor& a) {
  return a.is_cpu() && a.dim() >= 3 && a.size(0) > 1 && a.numel() > 0 && at::get_num_threads() > 1 &&
         !at::in_parallel_region();
}

// (D0, ..., r, c) -> (D0 * ..., r, c): a view where the strides allow, else
// a contiguous copy, as ATen's matmul folds its batch dimensions.
at::Tensor fold_batch(const at::Tensor& t) { return t.reshape({-1, t.size(-2), t.size(-1)}); }

// The product without autograd: rows of the leading dimension in chunks,
// one chunk per thread, each an ordinary bmm into its part of the output.
at::Tensor split_product(const at::Tensor& a, const at::Tensor& b) {
  std::vector<int64_t> shape(a.sizes().begin(), a.sizes().end());
  shape.back() = b.size(-1);
  auto out = at::empty(shape, a.options());
  auto out3 = out.view({-1, out.size(-2), out.size(-1)});
  const int64_t matrices_per_row = out3.size(0) / a.size(0);
  at::parallel_for(0, a.size(0), 1, [&](int64_t begin, int64_t end) {
    // Grad mode is per thread, and on in OpenMP's workers: this is never
    // differentiated itself (SplitMatmul's backward is), so it is off here.
    at::NoGradGuard no_grad;
    const int64_t rows = end - begin;
    auto part = out3.narrow(0, begin * matrices_per_row, rows * matrices_per_row);
    at::bmm_out(part, fold_batch(a.narrow(0, begin, rows)), fold_batch(b.narrow(0, begin, rows)));
  });
  return out;
}

struct SplitMatmul : public torch::autograd::Function<SplitMatmul> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& a, const at::Tensor& b) {
    ctx->save_for_backward({a, b});
    return split_product(a, b);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& grad = grads[0];
    at::Tensor grad_a, grad_b;
    if (ctx->needs_input_grad(0)) grad_a = split_product(grad, saved[1].transpose(-2, -1));
    if (ctx->needs_input_grad(1)) grad_b = split_product(saved[0].transpose(-2, -1), grad);
    return {grad_a, grad_b};
  }
};

}  // namespace

at::Tensor batched_matmul(const at::Tensor& a, const at::Tensor& b) {
  if (a.dim() != b.dim() || a.sizes().slice(0, a.dim() - 2) != b.sizes().slice(0, b.dim() - 2) ||
      a.size(-1) != b.size(-2))
    throw Error("batched_matmul: shapes " + c10::str(a.sizes()) + " and " + c10::str(b.sizes()) +
                " do not multiply batch by batch");
  if (!worth_splitting(a)) return at::matmul(a, b);
  return SplitMatmul::apply(a, b);
}

}  // namespace featreuse::models
