// MPI for the prepare tests run as a single process (an Open MPI singleton).
#include <gtest/gtest.h>
#include <mpi.h>

namespace {
class MpiEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  }
  void TearDown() override { MPI_Finalize(); }
};
const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new MpiEnvironment);
}  // namespace
