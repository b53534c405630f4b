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

# PyPI's libtorch.so exports a copy of std::filesystem (unversioned symbols)
# that crashes when called from our code (remove_all jumps to address 0). The
# dynamic linker binds to the first library that defines a symbol, and g++
# puts libstdc++ last: naming it before everything else makes std:: resolve to
# the system libstdc++, as it does inside Python, which loads libstdc++ first.
add_link_options(LINKER:--push-state,--no-as-needed -lstdc++ LINKER:--pop-state)

# spdlog must see the fmt it was built against, and PyPI's LibTorch ships
# another fmt (fmt 12 in torch 2.11) in its include folder, which compilers
# search before /usr/include: the system spdlog then fails to compile. So the
# system fmt's headers go first, through a build-tree folder that holds only
# a link to them (-I comes before torch's -isystem). With Debian's LibTorch
# this changes nothing: both are the system fmt.
find_package(fmt REQUIRED)
get_target_property(featreuse_fmt_includes fmt::fmt INTERFACE_INCLUDE_DIRECTORIES)
find_path(featreuse_system_fmt_dir fmt/format.h PATHS ${featreuse_fmt_includes} NO_DEFAULT_PATH REQUIRED)
file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/system-fmt)
file(CREATE_LINK ${featreuse_system_fmt_dir}/fmt ${CMAKE_BINARY_DIR}/system-fmt/fmt SYMBOLIC)
include_directories(BEFORE ${CMAKE_BINARY_DIR}/system-fmt)

if(FEATREUSE_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()

# A CUDA LibTorch (PyPI's, scripts/build-cuda.sh) brings the CUDA build: NCCL
# for data-parallel groups on GPUs, from the nvidia-nccl wheel beside that
# LibTorch (the copy it loads itself) or from CUDA_HOME / NCCL_HOME. Debian's
# LibTorch is CPU-only and needs none of it.
set(FEATREUSE_WITH_CUDA OFF)
set(FEATREUSE_WITH_NCCL OFF)
if(C10_CUDA_LIBRARY)
  set(FEATREUSE_WITH_CUDA ON)
  get_filename_component(featreuse_site_packages "${TORCH_INSTALL_PREFIX}/.." ABSOLUTE)
  find_path(FEATREUSE_NCCL_INCLUDE_DIR nccl.h
    HINTS ${featreuse_site_packages}/nvidia/nccl/include $ENV{NCCL_HOME}/include $ENV{CUDA_HOME}/include
          /usr/local/cuda/include)
  find_library(FEATREUSE_NCCL_LIBRARY NAMES nccl libnccl.so.2 NAMES_PER_DIR
    HINTS ${featreuse_site_packages}/nvidia/nccl/lib $ENV{NCCL_HOME}/lib $ENV{CUDA_HOME}/lib64 /usr/local/cuda/lib64)
  if(FEATREUSE_NCCL_INCLUDE_DIR AND FEATREUSE_NCCL_LIBRARY)
    set(FEATREUSE_WITH_NCCL ON)
    add_library(featreuse_nccl INTERFACE)
    target_include_directories(featreuse_nccl SYSTEM INTERFACE ${FEATREUSE_NCCL_INCLUDE_DIR})
    target_link_libraries(featreuse_nccl INTERFACE ${FEATREUSE_NCCL_LIBRARY})
    target_compile_definitions(featreuse_nccl INTERFACE FEATREUSE_WITH_NCCL=1)
    add_library(featreuse::nccl ALIAS featreuse_nccl)
    message(STATUS "CUDA LibTorch: NCCL from ${FEATREUSE_NCCL_LIBRARY}")
  else()
    message(WARNING "CUDA LibTorch without NCCL (set NCCL_HOME): data-parallel groups on GPUs are refused")
  endif()
endif()
