#include "cli.hpp"

#include "featreuse/core/error.hpp"

namespace featreuse::app {

namespace po = boost::program_options;

po::variables_map parse_args(const std::vector<std::string>& arguments,
                             const po::options_description& options,
                             const std::vector<std::string>& positional, const std::string& command) {
  po::positional_options_description bare;
  for (const auto& name : positional) bare.add(name.c_str(), 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(arguments).options(options).positional(bare).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw Error(std::string(e.what()) + " (see featreuse " + command + " --help)");
  }
  return vm;
}

}  // namespace featreuse::app
