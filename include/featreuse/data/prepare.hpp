#pragma once
// `featreuse prepare`: decode a dataset's public files once into the cache of
// cache.hpp, with the work split over the ranks of `comm` and threads within a
// rank. Unreadable images are skipped and recorded, never fatal. An interrupted
// run resumes where it stopped; a finished cache is left alone.
#include <mpi.h>

#include <array>
#include <string>
#include <vector>

#include "featreuse/core/collective.hpp"
#include "featreuse/data/layout.hpp"

namespace featreuse::data {

struct PrepareOptions {
  std::string layout;  // layout name (layout_names())
  LayoutOptions layout_options;
  std::string out;               // the cache file
  int threads = 0;               // decoding threads per rank; 0: this node's cores / its ranks
  bool force = false;            // rebuild even if a cache (finished or not) exists
  double log_interval_s = 10.0;  // progress lines
};

struct PrepareReport {
  bool already_complete = false;
  int64_t items = 0, processed = 0, ok = 0, skipped = 0;  // processed: decoded by this run, all ranks
  std::array<int64_t, 3> split_sizes{0, 0, 0};
  std::vector<double> mean, std;
  std::string split_method;
  double seconds = 0;
};

// Collective over `comm`; every rank returns the same report or throws
// CollectiveError. An unfinished cache stays resumable.
PrepareReport prepare_cache(const PrepareOptions& options, MPI_Comm comm);

}  // namespace featreuse::data
