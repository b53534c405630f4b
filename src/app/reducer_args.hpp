#pragma once
// The data-parallel flags `run` and `bench train` share: how a group averages
// its gradients (--allreduce) and in what bucket size (--bucket-mb).
#include <boost/program_options/options_description.hpp>
#include <string>

#include "featreuse/dist/reducer.hpp"

namespace featreuse::app {

struct ReducerArgs {
  std::string allreduce = "auto";
  double bucket_mb = 25.0;
};

void add_reducer_options(boost::program_options::options_description& options, ReducerArgs& args);

// Throws featreuse::UsageError naming the flag and its value.
dist::ReducerOptions reducer_options(const ReducerArgs& args);

}  // namespace featreuse::app
