#pragma once
// Registration functions of the built-in dataset readers, called once by
// register_builtin_readers() (src/data/builtin.cpp).
namespace featreuse::data {

void register_fashion_mnist_reader();

}  // namespace featreuse::data
