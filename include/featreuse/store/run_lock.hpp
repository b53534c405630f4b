#pragma once
// One `run` at a time writes a store: the first takes a POSIX record lock on
// STORE.lock (fcntl, which NFS and Lustre honour, and the kernel releases when
// its process dies, so a job killed with kill -9 leaves no lock behind); a
// second run into the same store is refused with the holder's host, pid,
// Slurm job and start time, which the file holds.
#include <string>

namespace featreuse::store {

class RunLock {
 public:
  // Takes the lock of the store at `store_path`, or throws featreuse::Error
  // naming the run that holds it. A file system without record locks gets a
  // warning and no lock.
  explicit RunLock(const std::string& store_path);
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

  // Who held the lock before, when that run ended without releasing it
  // cleanly (its process died): "host h, pid p, ..." or "".
  const std::string& previous_holder() const { return previous_; }

 private:
  std::string path_, previous_;
  int fd_ = -1;
};

// Who the lock file of the store at `store_path` names, and whether that run
// still holds it: for `status`. (Never call it in the process holding the
// lock: closing any descriptor of the file releases a POSIX lock.)
struct LockState {
  bool held = false;   // a live run holds the lock now
  std::string holder;  // the lock file's text: the holder, or a run that died holding it; "" for none
};
LockState read_lock_state(const std::string& store_path);

// Throws the error a second RunLock would, when a live run holds the lock:
// a cheap early check before minutes of work (the lock itself decides).
void refuse_if_held(const std::string& store_path);

}  // namespace featreuse::store
