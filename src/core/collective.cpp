#include "featreuse/core/collective.hpp"

#include <climits>
#include <cstdint>

namespace featreuse {

std::string broadcast_string(std::string text, int root, MPI_Comm comm) {
  int64_t size = int64_t(text.size());
  MPI_Bcast(&size, 1, MPI_INT64_T, root, comm);
  text.resize(size_t(size));
  if (size > 0) MPI_Bcast(text.data(), int(size), MPI_CHAR, root, comm);
  return text;
}

namespace {
int rank_in(MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  return rank;
}

// The exception's message, never empty: an empty message means "no error" below.
std::string message_of(const std::exception& e) {
  const std::string message = e.what();
  return message.empty() ? "unknown error" : message;
}
}  // namespace

std::string decided_by_rank0(MPI_Comm comm, const std::function<std::string()>& decide) {
  std::string text, error;
  int code = exit_codes::kOk;
  if (rank_in(comm) == 0) {
    try {
      text = decide();
    } catch (const std::exception& e) {
      error = message_of(e);
      code = exit_code_of(e);
    }
  }
  error = broadcast_string(error, 0, comm);
  if (!error.empty()) {
    MPI_Bcast(&code, 1, MPI_INT, 0, comm);
    throw CollectiveError(error, code);
  }
  return broadcast_string(text, 0, comm);
}

void all_or_nothing(MPI_Comm comm, const std::function<void()>& step) {
  std::string message;
  int code = exit_codes::kOk;
  try {
    step();
  } catch (const std::exception& e) {
    message = message_of(e);
    code = exit_code_of(e);
  }
  int first = message.empty() ? INT_MAX : rank_in(comm);
  MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPI_INT, MPI_MIN, comm);
  if (first == INT_MAX) return;
  message = broadcast_string(message, first, comm);
  MPI_Bcast(&code, 1, MPI_INT, first, comm);
  throw CollectiveError(message, code);
}

}  // namespace featreuse
