#include "featreuse/store/run_lock.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include "featreuse/core/error.hpp"
#include "featreuse/core/paths.hpp"

namespace featreuse::store {

namespace {

std::string read_all(int fd) {
  std::string text;
  char buf[512];
  ssize_t n = 0;
  if (lseek(fd, 0, SEEK_SET) != 0) return text;
  while ((n = read(fd, buf, sizeof buf)) > 0) text.append(buf, size_t(n));
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

// What a refused run is told about the holder.
std::string this_holder() {
  const char* job = std::getenv("SLURM_JOB_ID");
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char started[40];
  std::strftime(started, sizeof started, "%Y-%m-%d %H:%M:%S UTC", &utc);
  return "host " + host_name() + ", pid " + std::to_string(getpid()) +
         (job ? std::string(", Slurm job ") + job : std::string()) + ", started " + started;
}

bool lock_whole_file(int fd) {
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;  // l_start = l_len = 0: the whole file
  return fcntl(fd, F_SETLK, &lock) == 0;
}

Error held_error(const std::string& store_path, const std::string& holder) {
  return Error("another featreuse run is writing the store " + store_path + " (" +
               (holder.empty() ? "its holder did not say who it is" : holder) +
               "): one run at a time per store; wait for it, or give this job another store");
}

}  // namespace

void refuse_if_held(const std::string& store_path) {
  const LockState state = read_lock_state(store_path);
  if (state.held) throw held_error(store_path, state.holder);
}

RunLock::RunLock(const std::string& store_path) : path_(store_path + ".lock") {
  fd_ = open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error("cannot create the store's lock file " + path_ + ": " + std::strerror(errno));
  if (!lock_whole_file(fd_)) {
    const int err = errno;
    if (err == EACCES || err == EAGAIN) {
      const std::string holder = read_all(fd_);
      close(fd_);
      throw held_error(store_path, holder);
    }
    spdlog::warn("the file system of {} has no record locks ({}): nothing stops a second run into this store",
                 path_, std::strerror(err));
    close(fd_);
    fd_ = -1;
    return;
  }
  previous_ = read_all(fd_);
  const std::string holder = this_holder() + "\n";
  if (ftruncate(fd_, 0) != 0 || pwrite(fd_, holder.data(), holder.size(), 0) != ssize_t(holder.size())) {
    const std::string reason = std::strerror(errno);
    close(fd_);  // a constructor that throws runs no destructor: release the lock here
    throw Error("cannot write the store's lock file " + path_ + ": " + reason);
  }
}

LockState read_lock_state(const std::string& store_path) {
  LockState state;
  const int fd = open((store_path + ".lock").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return state;
  state.holder = read_all(fd);
  struct flock probe {};
  probe.l_type = F_WRLCK;
  probe.l_whence = SEEK_SET;
  state.held = fcntl(fd, F_GETLK, &probe) == 0 && probe.l_type != F_UNLCK;
  close(fd);
  return state;
}

RunLock::~RunLock() {
  if (fd_ < 0) return;
  // Emptied before it is released: a non-empty unlocked file means its run died.
  if (ftruncate(fd_, 0) != 0) spdlog::warn("cannot empty the lock file {}", path_);
  close(fd_);
}

}  // namespace featreuse::store
