#include "featreuse/store/fid_record.hpp"

#include <ctime>
#include <filesystem>

#include "store_files.hpp"

namespace featreuse::store {

namespace {

constexpr const char* kFidGroup = "/fid";

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[40];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &utc);
  return text;
}

}  // namespace

std::string fid_entry_name(const FidEntry& entry) {
  return entry.dataset + " " + entry.split + " vs " +
         std::filesystem::path(entry.reference).filename().string();
}

FidWriter::FidWriter(const std::string& store_path) : path_(store_path), lock_(store_path) {
  detail::check_store(h5::open_serial(path_, h5::Access::read_only), path_);
}

void FidWriter::write(FidEntry entry) {
  h5::Handle file = h5::open_serial(path_, h5::Access::read_write);
  if (entry.written.empty()) entry.written = utc_now();
  const std::string path = std::string(kFidGroup) + "/" + fid_entry_name(entry);
  // Replacing an entry writes a new group (the old one's few bytes stay unused).
  if (h5::exists(file, path)) h5::unlink(file, path);
  h5::Handle group = h5::create_group(file, path);
  h5::set_attribute(group, "dataset", entry.dataset);
  h5::set_attribute(group, "split", entry.split);
  h5::set_attribute(group, "reference", entry.reference);
  h5::set_attribute(group, "value", entry.value);
  h5::set_attribute(group, "images", entry.images);
  h5::set_attribute(group, "reference_images", entry.reference_images);
  h5::set_attribute(group, "weights", entry.weights);
  h5::set_attribute(group, "written", entry.written);
  group.reset();
  h5::flush(file);
}

namespace detail {

std::vector<FidEntry> read_fid_entries(hid_t file) {
  std::vector<FidEntry> out;
  if (!h5::exists(file, kFidGroup)) return out;
  for (const auto& name : h5::list_group(h5::open_group(file, kFidGroup))) {
    h5::Handle g = h5::open_group(file, std::string(kFidGroup) + "/" + name);
    FidEntry e;
    e.dataset = h5::get_string_attribute(g, "dataset");
    e.split = h5::get_string_attribute(g, "split");
    e.reference = h5::get_string_attribute(g, "reference");
    e.value = h5::get_double_attribute(g, "value");
    e.images = h5::get_int_attribute(g, "images");
    e.reference_images = h5::get_int_attribute(g, "reference_images");
    e.weights = h5::get_string_attribute(g, "weights");
    e.written = h5::get_string_attribute(g, "written");
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace detail

}  // namespace featreuse::store
