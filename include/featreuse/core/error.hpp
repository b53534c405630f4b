#pragma once
// Error types. Every error a user can cause says which file, key or value is wrong.
#include <stdexcept>
#include <string>

namespace featreuse {

// Base of all featreuse errors; the message is shown to users as is.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A job, config or command-line mistake: names the file and key at fault.
class ConfigError : public Error {
 public:
  ConfigError(const std::string& file, const std::string& key, const std::string& what);
  const std::string& file() const { return file_; }
  const std::string& key() const { return key_; }

 private:
  std::string file_, key_;
};

// A command-line mistake (a missing argument, an unknown option or log
// level): the program prints the message and exits with code 2.
class UsageError : public Error {
 public:
  using Error::Error;
};

// Raised inside a task when a stop was requested (SIGTERM/SIGUSR1/SIGINT): the
// task is left pending, not failed.
class Interrupted : public Error {
 public:
  Interrupted() : Error("interrupted by a stop request") {}
};

}  // namespace featreuse
