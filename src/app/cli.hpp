#pragma once
// Command-line parsing shared by the subcommands (Boost.Program_options).
#include <boost/program_options.hpp>
#include <string>
#include <vector>

namespace featreuse::app {

// Parses `arguments` (without the subcommand's name) against `options`; bare
// arguments fill the options named in `positional`, in order. A malformed or
// unknown option becomes a featreuse::Error pointing at `command`'s help.
boost::program_options::variables_map parse_args(const std::vector<std::string>& arguments,
                                                 const boost::program_options::options_description& options,
                                                 const std::vector<std::string>& positional,
                                                 const std::string& command);

}  // namespace featreuse::app
