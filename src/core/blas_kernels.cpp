#include "featreuse/core/blas_kernels.hpp"

#include <dlfcn.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace featreuse {

namespace {

// OpenBLAS's fallback for an x86-64 CPU it does not know.
constexpr const char* kFallbackCore = "Prescott";
// Set for the restarted process: the core OpenBLAS had chosen, for its log line.
constexpr const char* kReplacedCoreVariable = "FEATREUSE_OPENBLAS_REPLACED_CORE";

// OpenBLAS's functions, looked up at run time: libtorch may call another BLAS
// (MKL, which ATen sizes itself, or the reference BLAS, which has no threads
// or kernel choice). Null when the loaded BLAS is not OpenBLAS.
template <typename Function>
Function openblas_function(const char* name) {
  return reinterpret_cast<Function>(dlsym(RTLD_DEFAULT, name));
}

// OpenBLAS's name for the kernels it chose; none when it is not loaded.
std::optional<std::string> openblas_core_name() {
  auto core_name = openblas_function<char* (*)()>("openblas_get_corename");
  if (!core_name || !core_name()) return std::nullopt;
  return std::string(core_name());
}

// The running program's file. Not /proc/self/exe itself: a process takes its
// name (what ps, top and pkill show) from the file it was started from.
std::string this_executable() {
  std::string path(4096, '\0');
  const ssize_t length = readlink("/proc/self/exe", path.data(), path.size());
  if (length <= 0 || static_cast<size_t>(length) >= path.size()) return "/proc/self/exe";
  path.resize(static_cast<size_t>(length));
  return path;
}

}  // namespace

CpuVectorSupport this_cpu_vector_support() {
  CpuVectorSupport cpu;
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  cpu.avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512vl");
  cpu.avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  return cpu;
}

std::optional<std::string> better_openblas_core(const std::string& chosen, const CpuVectorSupport& cpu) {
  if (chosen != kFallbackCore) return std::nullopt;
  if (cpu.avx512) return "SkylakeX";
  if (cpu.avx2_fma) return "Haswell";
  return std::nullopt;
}

void restart_with_openblas_kernels_for_this_cpu(char** argv) {
  if (std::getenv(kReplacedCoreVariable)) {
    spdlog::debug("restarted with OpenBLAS's {}: it did not know this CPU", openblas_kernels_note());
    return;
  }
  if (std::getenv("OPENBLAS_CORETYPE")) return;  // the user's choice stands
  const auto chosen = openblas_core_name();
  if (!chosen) return;
  const auto better = better_openblas_core(*chosen, this_cpu_vector_support());
  if (!better) return;
  setenv("OPENBLAS_CORETYPE", better->c_str(), 1);
  setenv(kReplacedCoreVariable, chosen->c_str(), 1);
  execv(this_executable().c_str(), argv);
  const int error = errno;  // execv returns only when it failed
  unsetenv("OPENBLAS_CORETYPE");
  unsetenv(kReplacedCoreVariable);
  spdlog::warn(
      "OpenBLAS chose its {} kernels, slower than this CPU runs, and restarting with "
      "OPENBLAS_CORETYPE={} failed ({}); set it before starting featreuse",
      *chosen, *better, std::strerror(error));
}

void set_openblas_threads(int threads) {
  if (auto setter = openblas_function<void (*)(int)>("openblas_set_num_threads")) setter(threads);
}

std::optional<int> openblas_threads() {
  auto getter = openblas_function<int (*)()>("openblas_get_num_threads");
  if (!getter) return std::nullopt;
  return getter();
}

std::string openblas_kernels_note() {
  const auto core = openblas_core_name();
  if (!core) return "";
  const char* replaced = std::getenv(kReplacedCoreVariable);
  return *core + " kernels" + (replaced ? std::string(", not its ") + replaced + " fallback" : "");
}

}  // namespace featreuse
