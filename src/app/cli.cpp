#include "cli.hpp"

#include <cstdio>
#include <iostream>

#include "featreuse/core/error.hpp"

namespace featreuse::app {

namespace po = boost::program_options;

po::variables_map parse_args(const std::vector<std::string>& arguments,
                             const po::options_description& options,
                             const std::vector<std::string>& positional, const std::string& command) {
  po::positional_options_description bare;
  for (const auto& name : positional) {
    const bool any_number = !name.empty() && name.back() == '*';  // "stores*": every remaining argument
    bare.add(any_number ? name.substr(0, name.size() - 1).c_str() : name.c_str(), any_number ? -1 : 1);
  }
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(arguments).options(options).positional(bare).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(std::string(e.what()) + " (see featreuse " + command + " --help)");
  }
  return vm;
}

std::optional<int> help_or_missing(const po::variables_map& vm, const po::options_description& options,
                                   const std::string& command, const std::vector<Required>& required) {
  if (vm.count("help")) {
    std::cout << options << "\n";
    return 0;
  }
  for (const auto& r : required) {
    if (r.given) continue;
    std::fprintf(stderr, "featreuse %s: missing %s\n\n", command.c_str(), r.name.c_str());
    std::cerr << options << "\n";
    return 2;
  }
  return std::nullopt;
}

}  // namespace featreuse::app
