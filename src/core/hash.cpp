#include "featreuse/core/hash.hpp"

#include <boost/uuid/name_generator_sha1.hpp>
#include <boost/uuid/string_generator.hpp>
#include <boost/uuid/uuid_io.hpp>
#include <fstream>
#include <sstream>

#include "featreuse/core/error.hpp"

namespace featreuse {

std::string stable_id(const std::string& text) {
  // A fixed namespace so ids never depend on anything but the text.
  static const boost::uuids::uuid ns =
      boost::uuids::string_generator()("6f1d2a4e-9c3b-4d7a-8e21-5b0c7f3a9d14");
  boost::uuids::name_generator_sha1 generate(ns);
  // The first 12 hex digits precede the UUID's version/variant bits: pure hash.
  const std::string uuid = boost::uuids::to_string(generate(text));
  return uuid.substr(0, 8) + uuid.substr(9, 4);
}

std::string file_id(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read '" + path + "'");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return stable_id(bytes.str());
}

}  // namespace featreuse
