#pragma once
// The C heap set up for tensors' allocation pattern (docs/performance.md).

namespace featreuse {

// Keeps freed tensor memory in the process for the next step instead of
// handing it back to the kernel: glibc maps each allocation above its mmap
// threshold afresh (page faults, zeroing) and trims the heap's top when it
// is freed, and a training step frees and reallocates its activations every
// step. Leaves glibc's defaults when the user set GLIBC_TUNABLES or any
// MALLOC_*_ variable. Returns whether it changed them.
bool keep_freed_tensor_memory();

}  // namespace featreuse
