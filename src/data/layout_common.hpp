#pragma once
// Helpers shared by the layout builders (private to src/data).
#include <filesystem>
#include <string>

#include "featreuse/data/layout.hpp"

namespace featreuse::data::detail {

namespace fs = std::filesystem;

// A layout with items whose images are files under options.root. The loader
// follows the reference's BaseSet: a .png with the same stem wins if it exists.
Layout file_layout(const std::string& name, const LayoutOptions& options, int channels);

// Throws featreuse::Error "<what> '<path>' not found" with a hint when missing.
std::string require_file(const fs::path& path, const std::string& what);

// The holdout to use: the option if set (>= 0), else the layout's default.
double holdout_or(const LayoutOptions& options, double fallback);

// Applies the user's split file when given, else the reference's seeded split
// (python_holdout_split) with the option's holdout or `default_holdout`.
void assign_holdout_split(Layout& layout, const LayoutOptions& options, double default_holdout);

// Applies the user's split file when given, else `fallback()`.
void assign_splits(Layout& layout, const LayoutOptions& options, const std::string& method,
                   const std::function<std::array<std::vector<int64_t>, 3>()>& fallback);

// Strict number parsing for label cells; throws naming the file and line.
double parse_number(const std::string& text, const std::string& file, int64_t line,
                    const std::string& column);

// Shortest text of a number ("0.3", not "0.300000"), for split descriptions.
std::string number(double v);

// Register-a-builder plumbing (layout.cpp keeps the table).
using Builder = Layout (*)(const LayoutOptions&);
Layout build_aptos(const LayoutOptions&);
Layout build_isic(const LayoutOptions&);
Layout build_cbis_ddsm(const LayoutOptions&);
Layout build_cbis_ddsm_pathology(const LayoutOptions&);
Layout build_chexpert(const LayoutOptions&);
Layout build_pcam(const LayoutOptions&);
Layout build_folder(const LayoutOptions&);
Layout build_csv(const LayoutOptions&);

}  // namespace featreuse::data::detail
