// MPI for gtest binaries: initialised once (thread-multiple, as `featreuse run`
// does) before the tests and finalised after. Works as an Open MPI singleton
// or under mpirun.
#include <gtest/gtest.h>
#include <mpi.h>

namespace {
class MpiEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided);
  }
  void TearDown() override { MPI_Finalize(); }
};
const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new MpiEnvironment);
}  // namespace
