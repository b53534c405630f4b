#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>

#include "../../fuzz/store_reader_target.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/store/progress.hpp"
#include "featreuse/store/size.hpp"
#include "featreuse/store/store.hpp"

using namespace featreuse;
using namespace featreuse::store;

namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("featreuse_" + std::to_string(getpid()) + "_" + name))
      .string();
}

Layout small_layout() {
  Layout l;
  l.entries = {{"conv.weight", 0, 6, {2, 3}, false, "float32"},
               {"bn.num_batches_tracked", 6, 1, {}, true, "int64"}};
  l.id = Layout::id_of(l.entries);
  return l;
}

CellSchema cell(const std::string& id, json axes, int64_t test = 4) {
  CellSchema c;
  c.id = id;
  c.kind = featreuse::grid::TaskKind::cell;
  c.key = "cell " + id;
  c.axes = std::move(axes);
  c.config = json{{"id", id}}.dump();
  c.layout = small_layout().id;
  c.train_points = 3;
  c.val_points = 2;
  c.test_count = test;
  c.num_classes = 2;
  return c;
}

StudySchema schema(std::vector<CellSchema> cells) {
  StudySchema s;
  s.job_name = "t";
  s.job_text = "grid: {}";
  s.layouts = {small_layout()};
  s.cells = std::move(cells);
  return s;
}

CellOutputs outputs(float base) {
  CellOutputs o;
  for (int i = 0; i < 7; ++i) {
    o.initial.push_back(base + i);
    o.best.push_back(base - i);
  }
  o.train = {{1, 0.1, 2.0, 1e-3}, {2, 0.2, 1.5, 1e-3}};
  o.val = {{2, 0.2, 1.2, 0.75, {{"accuracy", 0.75}}}};
  o.test_logits = {1, 2, 3, 4, 5, 6, 7, 8};
  o.test_labels = {0, 1, 1, 0};
  return o;
}

}  // namespace

TEST(Store, CreatesCellsAndRoundTripsRecordsAndOutputs) {
  const std::string path = temp_path("roundtrip.h5");
  {
    Store s(path, MPI_COMM_WORLD);
    s.prepare(
        schema({cell("aaa", {{"model", "m"}, {"seed", 0}}), cell("bbb", {{"model", "m"}, {"seed", 1}})}));
    s.write_outputs("aaa", outputs(10));
    CellRecord r;
    r.status = TaskState::done;
    r.attempts = 1;
    r.host = "node1";
    r.metrics = {{"accuracy", 0.5}, {"roc_auc", 0.625}};
    r.message = std::string(3000, 'x');  // longer than the column: cut, not refused
    s.write_record("aaa", r);
    s.sync();
    s.close();
  }
  h5::Handle file = h5::open_serial(path, h5::Access::read_only);
  auto cells = StoreReader(path).cells();
  ASSERT_EQ(cells.size(), 2u);
  EXPECT_EQ(cells[0].id, "aaa");
  EXPECT_EQ(cells[0].record.status, TaskState::done);
  EXPECT_EQ(cells[0].record.host, "node1");
  EXPECT_EQ(cells[0].record.metrics["roc_auc"], 0.625);
  EXPECT_TRUE(std::isnan(cells[0].record.metrics["f1"]));
  EXPECT_EQ(cells[0].record.message.size(), 1024u);
  EXPECT_EQ(cells[1].record.status, TaskState::pending);
  EXPECT_EQ(cells[1].axes["seed"], 1);
  std::vector<float> best(7);
  h5::read_all(h5::open_dataset(file, "/cells/aaa/checkpoints/best"), H5T_NATIVE_FLOAT, best.data());
  EXPECT_EQ(best[6], 4.0f);
  EXPECT_EQ(h5::get_string_attribute(h5::open_dataset(file, "/cells/aaa/checkpoints/best"), "layout"),
            "/layouts/" + small_layout().id);
  // The results table mirrors the record.
  h5::Handle results = h5::open_dataset(file, "/results");
  EXPECT_EQ(h5::dims(results), std::vector<hsize_t>{2});
  file.reset();
  std::filesystem::remove(path);
}

TEST(Store, ExtendingKeepsDoneCellsAndWidensTheResultsTable) {
  const std::string path = temp_path("extend.h5");
  {
    Store s(path, MPI_COMM_WORLD);
    s.prepare(schema({cell("aaa", {{"model", "m"}, {"seed", 0}})}));
    s.write_outputs("aaa", outputs(1));
    CellRecord r;
    r.status = TaskState::done;
    s.write_record("aaa", r);
    s.close();
  }
  {
    Store s(path, MPI_COMM_WORLD);
    // The done cell now reports other sizes: its data must stay as it is.
    CellSchema changed = cell("aaa", {{"model", "m"}, {"seed", 0}}, 9);
    CellSchema failing = cell("ccc", {{"model", "m"}, {"seed", 2}, {"lr", 0.1}});
    failing.setup_error = "dataset file missing";
    s.prepare(schema({changed, cell("bbb", {{"model", "m"}, {"seed", 1}, {"lr", 0.5}}), failing}));
    s.close();
  }
  h5::Handle file = h5::open_serial(path, h5::Access::read_only);
  auto cells = StoreReader(path).cells();
  ASSERT_EQ(cells.size(), 3u);
  EXPECT_EQ(cells[0].record.status, TaskState::done);
  EXPECT_EQ(h5::dims(h5::open_dataset(file, "/cells/aaa/test/logits")), (std::vector<hsize_t>{4, 2}));
  EXPECT_EQ(cells[2].record.status, TaskState::failed);
  EXPECT_EQ(cells[2].record.message, "setup: dataset file missing");
  EXPECT_FALSE(h5::exists(file, "/cells/ccc/checkpoints"));
  EXPECT_EQ(h5::list_group(h5::open_group(file, "/jobs")).size(), 2u);
  h5::Handle results = h5::open_dataset(file, "/results");
  h5::Handle type(H5Dget_type(results));
  EXPECT_GE(H5Tget_member_index(type, "lr"), 0);  // the new axis became a column
  file.reset();
  std::filesystem::remove(path);
}

// A transfer cell's `initial` keeps only what it does not share with the
// checkpoint its init copied from; readers fill the rest in, and a write whose
// shared entry differs from its base is refused (the reference would lie).
TEST(Store, SharedInitialEntriesAreReadFromTheirBaseAndCheckedOnWrite) {
  const std::string path = temp_path("shared.h5");
  CellSchema transfer = cell("wt", {{"seed", 1}});
  transfer.initial_shared = {{"conv.weight", "/cells/src/checkpoints/best"}};
  const StudySchema study = StudySchema::from_json(schema({cell("src", {{"seed", 0}}), transfer}).to_json());
  ASSERT_EQ(study.cells[1].initial_shared.size(), 1u);  // travels between ranks
  EXPECT_EQ(study.cells[1].initial_shared[0].from, "/cells/src/checkpoints/best");
  {
    Store s(path, MPI_COMM_WORLD);
    s.prepare(study);
    const CellOutputs source = outputs(10);  // best: 10, 9, ..., 4
    s.write_outputs("src", source);
    CellOutputs mine = outputs(0);
    std::copy(source.best.begin(), source.best.begin() + 6, mine.initial.begin());
    mine.initial[6] = 99;  // the counter is its own
    CellOutputs differs = mine;
    differs.initial[2] += 1e-6f;
    EXPECT_THROW(s.write_outputs("wt", differs), Error);
    s.write_outputs("wt", mine);
    EXPECT_EQ(s.checkpoint("wt", CheckpointKind::initial).values, mine.initial);
    s.close();
  }
  h5::Handle file = h5::open_serial(path, h5::Access::read_only);
  EXPECT_EQ(h5::dims(h5::open_dataset(file, "/cells/wt/checkpoints/initial")), std::vector<hsize_t>{1});
  EXPECT_EQ(h5::dims(h5::open_dataset(file, "/cells/wt/checkpoints/initial_shared")),
            std::vector<hsize_t>{1});
  EXPECT_FALSE(h5::exists(file, "/cells/src/checkpoints/initial_shared"));
  const Checkpoint initial = StoreReader(path).checkpoint("wt", CheckpointKind::initial);
  EXPECT_EQ(initial.values, (std::vector<float>{10, 9, 8, 7, 6, 5, 99}));
  EXPECT_EQ(StoreReader(path).checkpoint("wt", CheckpointKind::best).values.size(), 7u);
  file.reset();
  std::filesystem::remove(path);
}

// A store written before shared entries existed: its done cells keep their
// full `initial` (and read as before) when a newer run plans them as shared;
// a cell not yet done is laid out anew.
TEST(Store, DoneCellsKeepAFullInitialWhenANewerPlanWouldShare) {
  const std::string path = temp_path("shared_upgrade.h5");
  const auto plan = [](bool shared) {
    std::vector<CellSchema> cells = {cell("src", {{"seed", 0}}), cell("wt", {{"seed", 1}}),
                                     cell("later", {{"seed", 2}})};
    if (shared)
      for (size_t i : {1, 2}) cells[i].initial_shared = {{"conv.weight", "/cells/src/checkpoints/best"}};
    return schema(cells);
  };
  const CellOutputs written = outputs(3);
  {
    Store s(path, MPI_COMM_WORLD);
    s.prepare(plan(false));
    s.write_outputs("wt", written);
    CellRecord done;
    done.status = TaskState::done;
    s.write_record("wt", done);
    s.close();
  }
  {
    Store s(path, MPI_COMM_WORLD);
    s.prepare(plan(true));
    s.close();
  }
  h5::Handle file = h5::open_serial(path, h5::Access::read_only);
  EXPECT_EQ(h5::dims(h5::open_dataset(file, "/cells/wt/checkpoints/initial")), std::vector<hsize_t>{7});
  EXPECT_FALSE(h5::exists(file, "/cells/wt/checkpoints/initial_shared"));
  EXPECT_EQ(h5::dims(h5::open_dataset(file, "/cells/later/checkpoints/initial")), std::vector<hsize_t>{1});
  EXPECT_TRUE(h5::exists(file, "/cells/later/checkpoints/initial_shared"));
  file.reset();
  EXPECT_EQ(StoreReader(path).checkpoint("wt", CheckpointKind::initial).values, written.initial);
  std::filesystem::remove(path);
}

// A damaged store whose shared entry names a checkpoint that shares entries
// itself (here: its own) is an error, not a reader going round in circles.
TEST(Store, ASharedEntryOfACheckpointThatSharesItselfIsAnError) {
  const std::string path = temp_path("shared_loop.h5");
  CellSchema transfer = cell("wt", {{"seed", 1}});
  transfer.initial_shared = {{"conv.weight", "/cells/wt/checkpoints/initial"}};
  {
    Store s(path, MPI_COMM_WORLD);
    s.prepare(schema({transfer}));
    s.close();
  }
  try {
    StoreReader(path).checkpoint("wt", CheckpointKind::initial);
    ADD_FAILURE() << "read a checkpoint that shares with itself";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("shares entries itself"), std::string::npos) << e.what();
  }
  std::filesystem::remove(path);
}

// A 16-bit initial cannot stand on a float32 base: the reader would return
// the base's unrounded values.
TEST(Store, SharedEntriesNeedABaseOfTheSamePrecision) {
  const std::string path = temp_path("shared16.h5");
  CellSchema transfer = cell("wt", {{"seed", 1}});
  transfer.checkpoint_dtype = CheckpointDtype::bfloat16;
  transfer.initial_shared = {{"conv.weight", "/cells/src/checkpoints/best"}};
  {
    Store s(path, MPI_COMM_WORLD);
    s.prepare(schema({cell("src", {{"seed", 0}}), transfer}));
    const CellOutputs source = outputs(10);
    s.write_outputs("src", source);
    CellOutputs mine = outputs(0);
    std::copy(source.best.begin(), source.best.begin() + 6, mine.initial.begin());
    try {
      s.write_outputs("wt", mine);
      ADD_FAILURE() << "a bfloat16 initial shared a float32 entry";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("cannot share 'conv.weight'"), std::string::npos) << e.what();
    }
    s.close();
  }
  std::filesystem::remove(path);
}

// What a rerun appends (a longer job text, a results table rebuilt with a new
// axis and a new cell) fits in run_growth, and reserve_growth holds that much
// disk past the file's end without changing the file: a full disk then
// refuses the run before HDF5 writes, instead of failing those writes.
TEST(Store, ARerunAppendsNoMoreThanTheGrowthReserved) {
  const std::string path = temp_path("growth.h5");
  {
    Store s(path, MPI_COMM_WORLD);
    s.prepare(schema({cell("aaa", {{"model", "m"}, {"seed", 0}})}));
    s.close();
  }
  StudySchema rerun = schema(
      {cell("aaa", {{"model", "m"}, {"seed", 0}}), cell("bbb", {{"model", "m"}, {"seed", 1}, {"lr", 0.5}})});
  rerun.job_text = std::string(5000, '#');
  rerun.cells[1].layout.clear();  // a new cell without datasets: only its record and results row
  rerun.cells[1].setup_error = "dataset file missing";
  const uint64_t growth = run_growth(rerun);
  const auto bytes_of = [&] {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::string before = bytes_of();
  reserve_growth(path, growth);
  EXPECT_EQ(bytes_of(), before);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_GE(uint64_t(st.st_blocks) * 512, before.size() + growth) << "no blocks reserved past the end";
  {
    Store s(path, MPI_COMM_WORLD);
    s.prepare(rerun);
    s.close();
  }
  const uint64_t after = std::filesystem::file_size(path);
  EXPECT_LE(after, before.size() + growth) << "the rerun appended " << after - before.size() << " bytes";
  EXPECT_GE(growth, rerun.job_text.size());
  std::filesystem::remove(path);
}

TEST(Store, RefusesAForeignHdf5File) {
  const std::string path = temp_path("foreign.h5");
  { h5::Handle f = h5::create_serial(path); }
  EXPECT_THROW(Store(path, MPI_COMM_WORLD), Error);
  std::filesystem::remove(path);
}

TEST(H5, ReadsStringAttributesAsH5pyWritesThem) {
  const std::string path = temp_path("h5py_attrs.h5");
  const std::string cmd = "/usr/bin/python3 -c \"import h5py; f = h5py.File('" + path +
                          "', 'w'); f.attrs['vlen'] = 'grüße'; f.attrs['fixed'] = b'plain'\"";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "needs /usr/bin/python3 with h5py";
  h5::Handle file = h5::open_serial(path, h5::Access::read_only);
  EXPECT_EQ(h5::get_string_attribute(file, "vlen"), "grüße");
  EXPECT_EQ(h5::get_string_attribute(file, "fixed"), "plain");
  file.reset();
  std::filesystem::remove(path);
}

// A progress file written on a full disk (its temporary file a link to
// /dev/full, where writes fail with ENOSPC at the stream's flush): an error
// naming the file and the cause, the previous file kept, nothing left behind.
// Before, the failure surfaced only at close, unchecked, and the empty
// temporary file replaced the previous one.
TEST(Progress, AWriteOnAFullDiskKeepsThePreviousFile) {
  const std::string store = temp_path("progress_full.h5");
  TaskProgress p;
  p.host = "h";
  p.step = 3;
  write_progress(store, "t1", p);
  const std::filesystem::path dir = progress_dir(store);
  const std::filesystem::path temporary = dir / ("t1.json." + std::to_string(getpid()));
  std::filesystem::create_symlink("/dev/full", temporary);
  p.step = 4;
  try {
    write_progress(store, "t1", p);
    FAIL() << "a write on a full disk did not throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(temporary.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("No space left on device"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(temporary)));
  ASSERT_FALSE(std::filesystem::is_symlink(dir / "t1.json"));
  EXPECT_EQ(read_progress(store).at("t1").step, 3);
  std::filesystem::remove_all(dir);
}

// Every file kept in the store-reader fuzz corpus (a real small store as the
// seed, and the inputs that found bugs) read whole through the fuzz target's
// entry point: each must read or raise a featreuse::Error.
TEST(Fuzz, StoreCorpusReplayEndsInReadsOrErrors) {
  const std::filesystem::path corpus =
      std::filesystem::path(FEATREUSE_SOURCE_DIR) / "tests/fuzz/corpus/store";
  const std::string path = temp_path("fuzz_replay.h5");
  size_t files = 0, read = 0;
  for (const auto& entry : std::filesystem::directory_iterator(corpus)) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ++files;
    SCOPED_TRACE(entry.path().filename().string());
    try {
      if (featreuse::fuzz::read_store_bytes(path, reinterpret_cast<const uint8_t*>(bytes.data()),
                                            bytes.size()) > 0)
        ++read;
    } catch (const Error&) {
    }
  }
  std::filesystem::remove(path);
  EXPECT_GE(files, 1u);
  EXPECT_GE(read, 1u);  // the seed is a real store with 3 tasks
}

namespace {
// A store with one done cell, then damaged by `python` (h5py, on `f`).
std::string damaged_store(const std::string& name, const std::string& python) {
  const std::string path = temp_path(name);
  {
    Store s(path, MPI_COMM_WORLD);
    s.prepare(schema({cell("aaa", {{"seed", 0}})}));
    s.write_outputs("aaa", outputs(1));
    s.close();
  }
  const std::string cmd =
      "/usr/bin/python3 -c \"import h5py; f = h5py.File('" + path + "', 'r+'); " + python + "\"";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << "needs /usr/bin/python3 with h5py";
  return path;
}

std::string error_of(const std::function<void()>& read) {
  try {
    read();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

// Damaged content that HDF5 reads without complaint must end in a
// featreuse::Error naming the object: a shape that is not numbers was
// std::stoll's std::invalid_argument (exit 3); a layout row pointing past the
// checkpoint was accepted for the readers of checkpoints to index by; a record
// dataset of two elements was read into a buffer for one (a heap overflow).
TEST(StoreReader, DamagedLayoutsAndRecordsAreErrorsNamingTheObject) {
  std::string path = damaged_store(
      "bad_shape.h5", "d = f['layouts'][list(f['layouts'])[0]]; r = d[0]; r['shape'] = b'x,3'; d[0] = r");
  EXPECT_NE(error_of([&] {
              StoreReader(path).checkpoint("aaa", CheckpointKind::best);
            }).find("shape dimension 'x' is not a size"),
            std::string::npos);
  std::filesystem::remove(path);

  path = damaged_store(
      "bad_offset.h5",
      "d = f['layouts'][list(f['layouts'])[0]]; r = d[1]; r['offset'] = 100; r['numel'] = 1; d[1] = r");
  EXPECT_NE(error_of([&] {
              StoreReader(path).checkpoint("aaa", CheckpointKind::best);
            }).find("tensor 'bn.num_batches_tracked' (offset 100, 1 values) does not fit"),
            std::string::npos);
  std::filesystem::remove(path);

  path = damaged_store("two_records.h5",
                       "g = f['cells/aaa']; r = g['record'][()]; del g['record']; "
                       "g.create_dataset('record', data=[r, r])");
  EXPECT_NE(error_of([&] {
              StoreReader(path).record("aaa");
            }).find("/cells/aaa/record holds 2 records, expected 1"),
            std::string::npos);
  std::filesystem::remove(path);
}
