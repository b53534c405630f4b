#pragma once
// Error types. Every error a user can cause says which file, key or value is wrong.
#include <stdexcept>
#include <string>

namespace featreuse {

// The exit codes of every command (README.md, docs/reliability.md).
namespace exit_codes {
constexpr int kOk = 0;
constexpr int kFailed = 1;       // the command could not do its work: disk full, a held lock, an I/O error
constexpr int kUserError = 2;    // the user's input is wrong: command line, job, dataset, weights, store path
constexpr int kInternal = 3;     // a bug: an exception that is not a featreuse::Error
constexpr int kTasksFailed = 4;  // run --strict: scheduling worked, a task failed
}  // namespace exit_codes

// Base of all featreuse errors; the message is shown to users as is.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  // What a command that stops on this error exits with.
  virtual int exit_code() const { return exit_codes::kFailed; }
};

// The user gave something wrong (a job or config file, a command line, a
// dataset's files, a weight file, a store path): the message names the file,
// key or value, and the command exits with code 2. Thrown where user input is
// validated, or where an error met while reading a user's file is raised again.
class UserError : public Error {
 public:
  using Error::Error;
  int exit_code() const override { return exit_codes::kUserError; }
};

// `e`'s exit code: an Error's own, kInternal for any other exception.
int exit_code_of(const std::exception& e);

// A job, config or command-line mistake: names the file and key at fault.
class ConfigError : public UserError {
 public:
  ConfigError(const std::string& file, const std::string& key, const std::string& what);
  const std::string& file() const { return file_; }
  const std::string& key() const { return key_; }

 private:
  std::string file_, key_;
};

// A command-line mistake (a missing argument, an unknown option or log
// level): the program prints the message and exits with code 2.
class UsageError : public UserError {
 public:
  using UserError::UserError;
};

// Raised inside a task when a stop was requested (SIGTERM/SIGUSR1/SIGINT): the
// task is left pending, not failed.
class Interrupted : public Error {
 public:
  Interrupted() : Error("interrupted by a stop request") {}
};

// Raised inside a task when this process can do no more work: its GPU or its
// group's collectives are left in a state only a new process clears (a CUDA
// graph capture that failed part way, averages abandoned in flight). The task
// is recorded failed, then the run stops; a rerun starts fresh processes.
class ProcessUnusable : public Error {
 public:
  using Error::Error;
};

}  // namespace featreuse
