#include "featreuse/core/progress.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>

namespace featreuse {

double unix_time() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string format_duration(double seconds) {
  char buf[32];
  if (seconds < 0 || seconds != seconds) return "?";
  if (seconds < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", seconds);
  } else if (seconds < 3600) {
    std::snprintf(buf, sizeof buf, "%dm%02ds", int(seconds) / 60, int(seconds) % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%dh%02dm", int(seconds) / 3600, (int(seconds) % 3600) / 60);
  }
  return buf;
}

ProgressLog::ProgressLog(std::string what, long long total, std::string unit, double interval_s)
    : what_(std::move(what)), unit_(std::move(unit)), total_(total), interval_s_(interval_s) {}

double ProgressLog::rate() const {
  double t = clock_.seconds();
  return t > 0 ? units_ / t : 0.0;
}

bool ProgressLog::update(long long done, const std::string& extra, long long units_done) {
  units_ = units_done >= 0 ? units_done : done;
  const double now = clock_.seconds();
  if (done < total_ && now - last_log_ < interval_s_) return false;
  last_log_ = now;
  const double frac = total_ > 0 ? double(done) / double(total_) : 1.0;
  const double eta = frac > 0 ? now * (1.0 - frac) / frac : -1.0;
  spdlog::info("{} {}/{} ({:.0f}%) {:.1f} {}/s ETA {}{}{}", what_, done, total_, 100.0 * frac, rate(), unit_,
               format_duration(eta), extra.empty() ? "" : " ", extra);
  return true;
}

}  // namespace featreuse
