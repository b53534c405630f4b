#pragma once
// Command-line parsing shared by the subcommands (Boost.Program_options).
#include <boost/program_options.hpp>
#include <optional>
#include <string>
#include <vector>

namespace featreuse::app {

// Parses `arguments` (without the subcommand's name) against `options`; bare
// arguments fill the options named in `positional`, in order (a name ending
// in "*" takes every remaining one: "stores*"). A malformed or
// unknown option becomes a featreuse::UsageError pointing at `command`'s help.
boost::program_options::variables_map parse_args(const std::vector<std::string>& arguments,
                                                 const boost::program_options::options_description& options,
                                                 const std::vector<std::string>& positional,
                                                 const std::string& command);

// A required argument: how the user names it ("--store", "JOB (the job file)")
// and whether it was given.
struct Required {
  std::string name;
  bool given;
};

// What a command does before its work: with --help, prints `options` and
// answers 0; when a required argument is missing, says which on stderr, then
// prints `options` and answers 2; otherwise answers nothing and the command runs.
std::optional<int> help_or_missing(const boost::program_options::variables_map& vm,
                                   const boost::program_options::options_description& options,
                                   const std::string& command, const std::vector<Required>& required);

}  // namespace featreuse::app
