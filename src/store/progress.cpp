#include "featreuse/store/progress.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "featreuse/core/error.hpp"

namespace featreuse::store {

namespace fs = std::filesystem;

json TaskProgress::to_json() const {
  return {{"host", host},
          {"pid", pid},
          {"started", started},
          {"heartbeat", heartbeat},
          {"interval_s", interval_s},
          {"step", step},
          {"total_steps", total_steps},
          {"epoch", epoch},
          {"epochs", epochs},
          {"eta_s", eta_s}};
}

TaskProgress TaskProgress::from_json(const json& j) {
  TaskProgress p;
  p.host = j.value("host", std::string());
  p.pid = j.value("pid", int64_t(0));
  p.started = j.value("started", 0.0);
  p.heartbeat = j.value("heartbeat", 0.0);
  p.interval_s = j.value("interval_s", 30.0);
  p.step = j.value("step", int64_t(0));
  p.total_steps = j.value("total_steps", int64_t(0));
  p.epoch = j.value("epoch", int64_t(0));
  p.epochs = j.value("epochs", int64_t(0));
  p.eta_s = j.value("eta_s", -1.0);
  return p;
}

std::string progress_dir(const std::string& store_path) { return store_path + ".progress"; }

void write_progress(const std::string& store_path, const std::string& id, const TaskProgress& progress) {
  const fs::path dir = progress_dir(store_path);
  std::error_code ec;
  fs::create_directories(dir, ec);
  const fs::path path = dir / (id + ".json");
  const fs::path temporary = dir / (id + ".json." + std::to_string(::getpid()));
  {
    std::ofstream out(temporary);
    out << progress.to_json().dump() << "\n";
    // The bytes reach the file system at close: a full disk shows only then,
    // and the half-written file must not replace the previous one.
    out.close();
    if (!out) {
      const std::string reason = std::strerror(errno);
      fs::remove(temporary, ec);
      throw Error("cannot write the progress file " + temporary.string() + ": " + reason);
    }
  }
  fs::rename(temporary, path, ec);  // atomic: a reader sees the old file or the new one
  if (ec) {
    const std::string reason = ec.message();
    fs::remove(temporary, ec);
    throw Error("cannot replace the progress file " + path.string() + ": " + reason);
  }
}

void remove_progress(const std::string& store_path, const std::string& id) noexcept {
  std::error_code ec;
  fs::remove(fs::path(progress_dir(store_path)) / (id + ".json"), ec);
}

std::map<std::string, TaskProgress> read_progress(const std::string& store_path) {
  std::map<std::string, TaskProgress> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(progress_dir(store_path), ec)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    try {
      out[entry.path().stem().string()] = TaskProgress::from_json(json::parse(text.str()));
    } catch (const std::exception&) {  // unreadable: skip it, status still shows the record
    }
  }
  return out;
}

}  // namespace featreuse::store
