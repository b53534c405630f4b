#include "featreuse/train/resume.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "featreuse/core/error.hpp"
#include "featreuse/store/h5.hpp"

namespace featreuse::train {

namespace {

void write_floats(hid_t file, const std::string& name, const std::vector<float>& v) {
  h5::Handle d = h5::create_dataset(file, name, H5T_IEEE_F32LE, {hsize_t(v.size())});
  if (!v.empty()) h5::write_all(d, H5T_NATIVE_FLOAT, v.data());
}

std::vector<float> read_floats(hid_t file, const std::string& name) {
  h5::Handle d = h5::open_dataset(file, name);
  std::vector<float> v(h5::dims(d)[0]);
  if (!v.empty()) h5::read_all(d, H5T_NATIVE_FLOAT, v.data());
  return v;
}

void write_bytes(hid_t file, const std::string& name, const std::string& bytes) {
  h5::Handle d = h5::create_dataset(file, name, H5T_STD_U8LE, {hsize_t(bytes.size())});
  if (!bytes.empty()) h5::write_all(d, H5T_NATIVE_UINT8, bytes.data());
}

std::string read_bytes(hid_t file, const std::string& name) {
  h5::Handle d = h5::open_dataset(file, name);
  std::string bytes(h5::dims(d)[0], '\0');
  if (!bytes.empty()) h5::read_all(d, H5T_NATIVE_UINT8, bytes.data());
  return bytes;
}

// NaN and infinities are written as JSON null (nlohmann's dump) and read back as NaN.
double number(const nlohmann::json& v) { return v.is_null() ? store::kNaN : v.get<double>(); }

// fsync's own failure matters: a file system that allocates late (ext4's
// delayed allocation, NFS) reports a full disk here rather than at write().
void sync_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw Error("cannot open '" + path + "' to sync it: " + std::strerror(errno));
  const bool synced = ::fsync(fd) == 0;
  const int error = errno;
  ::close(fd);
  if (!synced) throw Error("cannot sync '" + path + "': " + std::strerror(error));
}

// The new state in `tmp`, complete and on disk, or an exception. The file is
// closed explicitly: closing writes HDF5's metadata, which a full disk refuses,
// and a destructor would swallow that failure and leave a torn file to rename.
void write_state_file(const std::string& tmp, const TrainState& s, const nlohmann::json& meta) {
  h5::Handle file = h5::create_serial(tmp);
  write_floats(file, "model", s.model);
  write_floats(file, "best", s.best);
  write_floats(file, "initial", s.initial);
  write_bytes(file, "optimizer", s.optimizer);
  write_bytes(file, "generator", s.generator);
  write_bytes(file, "device_generator", s.device_generator);
  write_bytes(file, "state", meta.dump());
  h5::close(file);
  sync_file(tmp);
}

// What the system said, when HDF5's message carries it ("... errno = 28,
// error message = 'No space left on device', ..."): HDF5's whole stack of
// messages, with times and buffer addresses, says no more to a user.
std::string system_reason(const std::string& message) {
  const std::string marker = "error message = '";
  const size_t start = message.find(marker);
  if (start == std::string::npos) return message;
  const size_t end = message.find('\'', start + marker.size());
  return end == std::string::npos ? message
                                  : message.substr(start + marker.size(), end - start - marker.size());
}

}  // namespace

void FileResumeSlot::save(const TrainState& s) {
  nlohmann::json meta = {{"step", s.step},
                         {"epoch", s.epoch},
                         {"steps_in_epoch", s.steps_in_epoch},
                         {"train_seconds", s.train_seconds},
                         {"eval_seconds", s.eval_seconds},
                         {"best_val", s.best_val},
                         {"best_iteration", s.best_iteration},
                         {"window_loss", s.window_loss},
                         {"window_steps", s.window_steps},
                         {"schedule", s.schedule},
                         {"train_curve", nlohmann::json::array()},
                         {"val_curve", nlohmann::json::array()}};
  for (const auto& p : s.train_curve) meta["train_curve"].push_back({p.iteration, p.epoch, p.loss, p.lr});
  for (const auto& p : s.val_curve)
    meta["val_curve"].push_back({p.iteration, p.epoch, p.loss, p.target, p.metrics});

  const std::string tmp = path_ + ".tmp";
  try {
    std::filesystem::create_directories(std::filesystem::path(path_).parent_path());
    write_state_file(tmp, s, meta);
    std::filesystem::rename(tmp, path_);  // atomic: the old state stays whole until now
  } catch (const std::exception& e) {
    // A full disk or a quota: the partial file goes, the previous state stays.
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    throw StateNotSaved("cannot save the training state to '" + path_ + "': " + system_reason(e.what()) +
                        "; the previous state, if any, is kept");
  }
  // The new state is in place; this only makes the rename survive a power
  // loss, and failing it loses nothing a rerun needs.
  try {
    sync_file(std::filesystem::path(path_).parent_path().string());
  } catch (const Error&) {
  }
}

std::optional<TrainState> FileResumeSlot::load() {
  if (!std::filesystem::exists(path_)) return std::nullopt;
  TrainState s;
  try {
    h5::Handle file = h5::open_serial(path_, h5::Access::read_only);
    s.model = read_floats(file, "model");
    s.best = read_floats(file, "best");
    s.initial = read_floats(file, "initial");
    s.optimizer = read_bytes(file, "optimizer");
    s.generator = read_bytes(file, "generator");
    // States saved before the device's generator was kept have none.
    if (h5::exists(file, "device_generator")) s.device_generator = read_bytes(file, "device_generator");
    const auto meta = nlohmann::json::parse(read_bytes(file, "state"));
    s.step = meta["step"];
    s.epoch = meta["epoch"];
    s.steps_in_epoch = meta["steps_in_epoch"];
    s.train_seconds = meta["train_seconds"];
    s.eval_seconds = meta["eval_seconds"];
    s.best_val = meta["best_val"].is_null() ? -std::numeric_limits<double>::infinity()
                                            : meta["best_val"].get<double>();
    s.best_iteration = meta["best_iteration"];
    s.window_loss = meta["window_loss"];
    s.window_steps = meta["window_steps"];
    s.schedule = meta["schedule"];
    for (const auto& p : meta["train_curve"])
      s.train_curve.push_back({p[0], p[1], number(p[2]), number(p[3])});
    for (const auto& p : meta["val_curve"]) {
      store::ValPoint v{p[0], p[1], number(p[2]), number(p[3]), {}};
      for (auto it = p[4].begin(); it != p[4].end(); ++it) v.metrics[it.key()] = number(it.value());
      s.val_curve.push_back(std::move(v));
    }
  } catch (const std::exception& e) {
    throw Error("resume state '" + path_ + "' is unreadable (" + e.what() +
                "); delete it to start the task over");
  }
  return s;
}

void FileResumeSlot::clear() {
  std::error_code ec;
  std::filesystem::remove(path_, ec);
  std::filesystem::remove(path_ + ".tmp", ec);
}

}  // namespace featreuse::train
