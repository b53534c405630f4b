#include "reducer_args.hpp"

#include <boost/program_options.hpp>
#include <cmath>
#include <sstream>

#include "featreuse/core/error.hpp"

namespace featreuse::app {

namespace po = boost::program_options;

void add_reducer_options(po::options_description& options, ReducerArgs& args) {
  options.add_options()("allreduce", po::value(&args.allreduce),
                        "how a group averages gradients: overlapped (each bucket while backward runs, "
                        "as DDP), after-backward, or auto (default: overlapped on NCCL, after-backward "
                        "on MPI, where overlapping did not pay)")(
      "bucket-mb", po::value(&args.bucket_mb),
      "gradient bucket size in MB for a group's averages (default 25, as DDP)");
}

dist::ReducerOptions reducer_options(const ReducerArgs& args) {
  dist::ReducerOptions options;
  try {
    options.sync = dist::parse_gradient_sync(args.allreduce);
  } catch (const Error& e) {
    throw UsageError(std::string("--allreduce: ") + e.what());
  }
  if (!std::isfinite(args.bucket_mb) || args.bucket_mb <= 0 || args.bucket_mb > 4096) {
    std::ostringstream value;
    value << args.bucket_mb;
    throw UsageError("--bucket-mb " + value.str() + ": must be above 0 and at most 4096");
  }
  options.bucket_bytes = size_t(args.bucket_mb * (1 << 20));
  return options;
}

}  // namespace featreuse::app
