#pragma once
// While a task runs on this rank: its progress file beside the store
// (store/progress.hpp), rewritten every 30 s (FEATREUSE_HEARTBEAT_S) by a
// thread of its own, so the task beats through long validations and analyses too, with the
// training position the trainer last reported. `status` shows a running
// task whose heartbeat stopped as stale.
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "featreuse/store/progress.hpp"

namespace featreuse::app {

class Heartbeat {
 public:
  // Writes the first beat and starts beating.
  Heartbeat(std::string store_path, std::string id);
  // Stops beating and removes the file: the task's record says the rest.
  ~Heartbeat();
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

  // The trainer's position after a step (epoch 1-based); cheap, called every step.
  void training(int64_t step, int64_t total_steps, int64_t epoch, int64_t epochs);

 private:
  void beat();  // writes the file; an I/O error is logged once, never thrown
  void loop();

  const std::string store_path_, id_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false, warned_ = false;
  store::TaskProgress progress_;
  double first_time_ = -1;  // when this attempt reported its first step, and which
  int64_t first_step_ = 0;
  std::thread thread_;
};

}  // namespace featreuse::app
