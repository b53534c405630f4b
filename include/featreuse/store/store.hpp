#pragma once
// The study store: one HDF5 file that every rank opens with the MPI-IO
// driver. prepare() creates every object a job needs, collectively, up front;
// afterwards groups only write raw data into their own cells' datasets, so a
// crash at any moment cannot damage the file's metadata. A cell's record is
// written last, after its data is on disk (sync()).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "featreuse/core/error.hpp"
#include "featreuse/store/h5.hpp"
#include "featreuse/store/reader.hpp"
#include "featreuse/store/schema.hpp"

namespace featreuse::store {

// The store's written data did not reach the disk (fdatasync failed: a disk
// that fails or fills up at writeback, as thin-provisioned or network storage
// does). Not a task's failure: `run` stops, and the tasks it did not record
// as done run again next time.
class StoreNotSynced : public Error {
 public:
  using Error::Error;
};

// Before a run opens the existing store at `path` for writing (one process,
// holding its lock): reserves `bytes` of disk past the file's end (its size
// and bytes unchanged) for what the run appends (run_growth). HDF5 writes a
// run's new metadata at the end of the file; a full disk must refuse the run
// here, naming the store, rather than fail those writes half-way. A file
// system without fallocate keeps no reservation.
void reserve_growth(const std::string& path, uint64_t bytes);

class Store {
 public:
  // Collective over `comm`: creates the file if it does not exist.
  Store(const std::string& path, MPI_Comm comm);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& path() const { return path_; }

  // Collective; `schema` must be identical on every rank. Creates what is
  // missing (recreating data datasets of unfinished cells whose sizes changed),
  // writes new cells' configs and initial records, records the job text, and
  // rebuilds the results table over every cell in the file.
  void prepare(const StudySchema& schema);

  // Independent reads: every task in the file, and a task's checkpoint.
  std::vector<StoredCell> cells() const;
  Checkpoint checkpoint(const std::string& id, CheckpointKind which) const;
  // Independent: a cell's record, mirrored into its results row.
  CellRecord read_record(const std::string& id) const;
  void write_record(const std::string& id, const CellRecord& record);
  // Independent: a finished task's checkpoints, curves and test predictions.
  void write_outputs(const std::string& id, const CellOutputs& outputs);
  // Independent: an analysis task's tables, whose rows must be the planned ones.
  void write_analysis(const std::string& id, const std::vector<ResultTable>& tables);
  // Independent: pushes this rank's written data to disk (fdatasync). Throws
  // StoreNotSynced when the system reports that written data did not reach
  // the disk, so that no record says done over outputs that were lost.
  void sync();
  // Collective.
  void close();

 private:
  void create_cell(const CellSchema& cell, const std::map<std::string, const Layout*>& layouts);
  void create_analysis(const CellSchema& cell, bool done);
  // Collective: the table of the entries `checkpoint` shares (removed when none).
  void create_shared_table(const std::string& checkpoint, const std::vector<SharedEntry>& shared);
  void rebuild_results();
  // Collective: /results with `type` and `rows` rows, kept when it already matches.
  void create_results_table(const RowType& type, size_t rows);
  std::string path_;
  MPI_Comm comm_;
  int rank_ = 0;
  int sync_fd_ = -1;
  h5::Handle file_;
  std::map<std::string, size_t> results_row_;
  RowType results_type_;  // the results table's columns
};

}  // namespace featreuse::store
