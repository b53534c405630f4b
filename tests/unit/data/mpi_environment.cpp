// MPI for the prepare tests run as a single process (an Open MPI singleton).
// Defensive: harmless if tests/support/mpi_environment.cpp is linked too.
#include <gtest/gtest.h>
#include <mpi.h>

namespace {
class MpiEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (initialized) return;
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    owner_ = true;
  }
  void TearDown() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (owner_ && !finalized) MPI_Finalize();
  }

 private:
  bool owner_ = false;
};
const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new MpiEnvironment);
}  // namespace
