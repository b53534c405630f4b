#include "compute_threads.hpp"

#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <string>

#include "featreuse/core/blas_kernels.hpp"
#include "featreuse/core/cores.hpp"

namespace featreuse::app {

namespace {

// OpenBLAS's functions, looked up at run time: libtorch may call another BLAS
// (MKL, which ATen sizes itself, or the reference BLAS, which has no threads).
template <typename Function>
Function openblas_function(const char* name) {
  return reinterpret_cast<Function>(dlsym(RTLD_DEFAULT, name));
}

void set_openblas_threads(int threads) {
  if (auto setter = openblas_function<void (*)(int)>("openblas_set_num_threads")) setter(threads);
}

}  // namespace

void set_compute_threads(int threads) {
  if (threads <= 0) threads = usable_cores();
  at::set_num_threads(threads);
  set_openblas_threads(threads);
}

std::string blas_threads_note() {
  auto getter = openblas_function<int (*)()>("openblas_get_num_threads");
  if (!getter) return "";
  const std::string kernels = openblas_kernels_note();
  return ", OpenBLAS " + std::to_string(getter()) + (kernels.empty() ? "" : " (" + kernels + ")");
}

}  // namespace featreuse::app
