// Which OpenBLAS kernels featreuse asks for, given what OpenBLAS chose and
// what the CPU runs (the restart itself: tests/integration/blas_kernels.sh).
#include <gtest/gtest.h>

#include "featreuse/core/blas_kernels.hpp"

using featreuse::better_openblas_core;
using featreuse::CpuVectorSupport;

TEST(BlasKernels, AFallbackOnAnAvx512CpuGetsTheSkylakeXKernels) {
  EXPECT_EQ(better_openblas_core("Prescott", {true, true}), "SkylakeX");
}

TEST(BlasKernels, AFallbackOnAnAvx2CpuGetsTheHaswellKernels) {
  EXPECT_EQ(better_openblas_core("Prescott", {false, true}), "Haswell");
}

TEST(BlasKernels, OpenBlassOwnChoiceStandsWhenItKnewTheCpuOrNothingBetterRuns) {
  EXPECT_EQ(better_openblas_core("SkylakeX", {true, true}), std::nullopt);
  EXPECT_EQ(better_openblas_core("Haswell", {true, true}), std::nullopt);  // e.g. a Zen it knows
  EXPECT_EQ(better_openblas_core("Prescott", {false, false}), std::nullopt);
}
