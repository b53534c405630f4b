#pragma once
// How many threads the arithmetic of this process uses.
#include <string>

namespace featreuse::app {

// Sets ATen's intra-op threads to `threads` (0: every core of this machine)
// and, when the BLAS that libtorch calls is OpenBLAS, OpenBLAS's own pool to
// the same count: ATen does not size it, and left alone every rank's OpenBLAS
// starts a thread per core, so ranks sharing a node oversubscribe it and
// OpenBLAS's spinning workers slow every rank on it.
void set_compute_threads(int threads);

// ", OpenBLAS N (K kernels)" with OpenBLAS's thread count and kernels, ""
// when libtorch's BLAS is not OpenBLAS: for the log line that states the
// threads a run uses.
std::string blas_threads_note();

}  // namespace featreuse::app
