#include "report_fid.hpp"

#include <algorithm>
#include <tuple>

namespace featreuse::app {

namespace {

Value count_or_none(int64_t count) { return count > 0 ? Value(count) : Value(); }

}  // namespace

std::optional<Section> fid_section(const store::StudyReader& reader) {
  std::vector<store::FidEntry> entries = reader.fid_entries();
  if (entries.empty()) return std::nullopt;
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return std::tie(a.dataset, a.split, a.reference) < std::tie(b.dataset, b.split, b.reference);
  });
  Section s;
  s.name = "fid";
  s.description = "Table 1's header: FID of each dataset split to the reference (featreuse fid --store)";
  s.columns = {text_column("dataset"),  text_column("split"),     text_column("reference"),
               number_column("fid", 2), integer_column("images"), integer_column("reference images"),
               text_column("weights"),  text_column("written")};
  for (const auto& e : entries)
    s.add_row({e.dataset, e.split, e.reference, e.value, count_or_none(e.images),
               count_or_none(e.reference_images), e.weights, e.written});
  return s;
}

}  // namespace featreuse::app
