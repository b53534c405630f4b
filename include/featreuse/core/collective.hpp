#pragma once
// "Rank 0 decides, everyone agrees": what shapes later collective calls (a
// plan, a schema, whether a cache is done) is computed once and broadcast, and
// an error met on the way is raised on every rank together, so the ranks can
// exit cleanly instead of aborting or hanging.
#include <mpi.h>

#include <functional>
#include <string>

#include "featreuse/core/error.hpp"

namespace featreuse {

// An error every rank of a communicator raised together (the message and the
// exit code are one rank's): callers may finalize MPI normally instead of
// aborting, and every rank exits with the same code.
class CollectiveError : public Error {
 public:
  explicit CollectiveError(const std::string& message, int exit_code = exit_codes::kFailed)
      : Error(message), exit_code_(exit_code) {}
  // The same error raised on every rank, keeping its exit code (2 for a user error).
  explicit CollectiveError(const Error& e) : CollectiveError(e.what(), e.exit_code()) {}
  int exit_code() const override { return exit_code_; }

 private:
  int exit_code_;
};

// `text` as rank `root` has it, on every rank of `comm`.
std::string broadcast_string(std::string text, int root, MPI_Comm comm);

// Rank 0 of `comm` runs `decide`; every rank returns its text, or throws
// CollectiveError with the message and exit code of what it threw.
std::string decided_by_rank0(MPI_Comm comm, const std::function<std::string()>& decide);

// Every rank runs `step`; if it threw anywhere, every rank throws
// CollectiveError with the lowest failing rank's message and exit code.
void all_or_nothing(MPI_Comm comm, const std::function<void()>& step);

}  // namespace featreuse
