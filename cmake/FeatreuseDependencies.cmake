# Third-party dependencies. The CPU build uses Debian packages; the GPU recipe
# (shared/gpu/README.md) points CMAKE_PREFIX_PATH at pip's libtorch and sets
# FEATREUSE_HDF5_INCLUDE_DIR / FEATREUSE_HDF5_LIBRARY for parallel HDF5.

find_package(MPI REQUIRED COMPONENTS C)
find_package(Torch REQUIRED)
find_package(spdlog REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(nlohmann_json 3.9 REQUIRED)
find_package(Boost 1.71 REQUIRED COMPONENTS program_options)
find_package(Threads REQUIRED)

# Parallel HDF5 (MPI-IO). FindHDF5 prefers the serial flavour on Debian, so
# take the explicit paths or pkg-config's hdf5-openmpi.
add_library(featreuse_hdf5 INTERFACE)
if(DEFINED ENV{FEATREUSE_HDF5_INCLUDE_DIR} AND DEFINED ENV{FEATREUSE_HDF5_LIBRARY})
  target_include_directories(featreuse_hdf5 INTERFACE $ENV{FEATREUSE_HDF5_INCLUDE_DIR})
  target_link_libraries(featreuse_hdf5 INTERFACE $ENV{FEATREUSE_HDF5_LIBRARY} MPI::MPI_C)
else()
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(HDF5_PARALLEL REQUIRED IMPORTED_TARGET hdf5-openmpi)
  target_link_libraries(featreuse_hdf5 INTERFACE PkgConfig::HDF5_PARALLEL MPI::MPI_C)
endif()
add_library(featreuse::hdf5 ALIAS featreuse_hdf5)

# libzip for .npz files (FID statistics), through pkg-config: Debian's CMake
# config for it also wants the zipcmp tools, which libzip-dev does not bring.
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBZIP REQUIRED IMPORTED_TARGET libzip)

# Torch's imported target carries its ABI flag; expose it as one target.
add_library(featreuse_torch INTERFACE)
target_link_libraries(featreuse_torch INTERFACE ${TORCH_LIBRARIES})
add_library(featreuse::torch ALIAS featreuse_torch)

if(FEATREUSE_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
