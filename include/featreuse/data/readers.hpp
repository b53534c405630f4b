#pragma once
// Registration functions of the built-in dataset readers, called once by
// register_builtin_readers() (src/data/builtin.cpp).
#include <string>

namespace featreuse::data {

void register_fashion_mnist_reader();
// aptos2019, cbis_ddsm, isic2019, chexpert, pcam, folder, csv (cache_readers.cpp).
void register_cache_readers();

// A relative data path (root, cache, split file) under $FEATREUSE_DATA when set,
// else as given (relative to the working directory).
std::string resolve_data_path(const std::string& path);

}  // namespace featreuse::data
