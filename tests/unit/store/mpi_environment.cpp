// MPI for store tests run as a single process (an Open MPI singleton).
#include <gtest/gtest.h>
#include <mpi.h>

namespace {
class MpiEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { MPI_Init(nullptr, nullptr); }
  void TearDown() override { MPI_Finalize(); }
};
const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new MpiEnvironment);
}  // namespace
