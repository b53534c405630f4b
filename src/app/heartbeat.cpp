#include "heartbeat.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include "featreuse/core/error.hpp"
#include "featreuse/core/paths.hpp"
#include "featreuse/core/progress.hpp"

namespace featreuse::app {

namespace {
// Seconds between beats: 30, or FEATREUSE_HEARTBEAT_S (the tests beat faster).
double heartbeat_interval() {
  const char* env = std::getenv("FEATREUSE_HEARTBEAT_S");
  const double seconds = env ? std::atof(env) : 0.0;
  return seconds > 0 ? seconds : 30.0;
}
}  // namespace

Heartbeat::Heartbeat(std::string store_path, std::string id)
    : store_path_(std::move(store_path)), id_(std::move(id)) {
  progress_.host = host_name();
  progress_.pid = ::getpid();
  progress_.started = unix_time();
  progress_.interval_s = heartbeat_interval();
  beat();
  thread_ = std::thread([this] { loop(); });
}

Heartbeat::~Heartbeat() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  store::remove_progress(store_path_, id_);
}

void Heartbeat::training(int64_t step, int64_t total_steps, int64_t epoch, int64_t epochs) {
  const double now = unix_time();
  std::lock_guard<std::mutex> lock(mutex_);
  if (first_time_ < 0) {
    first_time_ = now;
    first_step_ = step;
  }
  progress_.step = step;
  progress_.total_steps = total_steps;
  progress_.epoch = epoch;
  progress_.epochs = epochs;
  // The rate of this attempt so far (a resumed task starts past step 0).
  if (step > first_step_)
    progress_.eta_s = double(total_steps - step) * (now - first_time_) / double(step - first_step_);
}

void Heartbeat::beat() {
  store::TaskProgress snapshot;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    progress_.heartbeat = unix_time();
    snapshot = progress_;
  }
  try {
    store::write_progress(store_path_, id_, snapshot);
  } catch (const Error& e) {
    if (!warned_) spdlog::warn("task {}: no heartbeat for status: {}", id_, e.what());
    warned_ = true;
  }
}

void Heartbeat::loop() {
  const auto interval = std::chrono::duration<double>(progress_.interval_s);
  std::unique_lock<std::mutex> lock(mutex_);
  while (!wake_.wait_for(lock, interval, [this] { return stopping_; })) {
    lock.unlock();
    beat();
    lock.lock();
  }
}

}  // namespace featreuse::app
