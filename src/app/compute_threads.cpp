#include "compute_threads.hpp"

#include <ATen/Parallel.h>

#include <string>

#include "featreuse/core/blas_kernels.hpp"
#include "featreuse/core/cores.hpp"

namespace featreuse::app {

void set_compute_threads(int threads) {
  if (threads <= 0) threads = usable_cores();
  at::set_num_threads(threads);
  set_openblas_threads(threads);
}

std::string blas_threads_note() {
  const auto threads = openblas_threads();
  if (!threads) return "";
  const std::string kernels = openblas_kernels_note();
  return ", OpenBLAS " + std::to_string(*threads) + (kernels.empty() ? "" : " (" + kernels + ")");
}

}  // namespace featreuse::app
