#pragma once
// OpenBLAS as libtorch loaded it: its kernels and its threads.
//
// OpenBLAS picks its matrix kernels for the CPU once, when it is loaded. A
// release older than the CPU does not know its model and falls back to its
// "Prescott" kernels (SSE3): on a 2023 Xeon with Debian 12's OpenBLAS 0.3.21,
// a DeiT trained 2.3x slower than with the AVX-512 kernels the CPU runs
// (docs/performance.md). OPENBLAS_CORETYPE overrides the choice, but only
// before the library loads, so the process starts itself again with it set.
#include <optional>
#include <string>

namespace featreuse {

// The vector instructions that decide which OpenBLAS kernels a CPU can run.
struct CpuVectorSupport {
  bool avx512 = false;    // AVX-512 F, CD, BW, DQ and VL: OpenBLAS's SkylakeX kernels
  bool avx2_fma = false;  // AVX2 and FMA: its Haswell kernels
};

CpuVectorSupport this_cpu_vector_support();

// The core OpenBLAS should be told to use when it chose `chosen` on a CPU
// with `cpu`; none when its own choice stands (it knew the CPU, or the CPU
// runs nothing better than its fallback).
std::optional<std::string> better_openblas_core(const std::string& chosen, const CpuVectorSupport& cpu);

// When OpenBLAS is the loaded BLAS, fell back to "Prescott" on a CPU that runs
// better kernels, and the user has not set OPENBLAS_CORETYPE: re-executes this
// program (same arguments, same pid) with OPENBLAS_CORETYPE set. The restarted
// process logs what was replaced (at debug level; `openblas_kernels_note`
// tells it in `run`'s start line). Call first thing in main, after log::init
// and before threads or MPI start.
void restart_with_openblas_kernels_for_this_cpu(char** argv);

// "SkylakeX kernels", with ", not its Prescott fallback" after a restart; ""
// when the loaded BLAS is not OpenBLAS.
std::string openblas_kernels_note();

// OpenBLAS's thread pool: ATen's set_num_threads does not size it. Both do
// nothing (none) when the loaded BLAS is not OpenBLAS.
void set_openblas_threads(int threads);
std::optional<int> openblas_threads();

}  // namespace featreuse
