#pragma once
// Wall-clock timing and progress lines with rate and ETA for long loops.
#include <chrono>
#include <string>

namespace featreuse {

class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  void restart() { start_ = std::chrono::steady_clock::now(); }

 private:
  std::chrono::steady_clock::time_point start_;
};

// Seconds since the Unix epoch, for timestamps in the store.
double unix_time();

// "1h02m", "3m05s", "12.3s": durations in log lines.
std::string format_duration(double seconds);

// Logs "<what> <done>/<total> (<pct>%) <rate> <unit>/s ETA <t> <extra>" at most
// once per `interval_s` seconds, and always for the last item.
class ProgressLog {
 public:
  ProgressLog(std::string what, long long total, std::string unit, double interval_s = 10.0);
  // Returns true when it logged a line.
  bool update(long long done, const std::string& extra = "", long long units_done = -1);
  double rate() const;  // units per second so far

 private:
  std::string what_, unit_;
  long long total_;
  double interval_s_;
  double last_log_ = -1e9;
  long long units_ = 0;
  Stopwatch clock_;
};

}  // namespace featreuse
