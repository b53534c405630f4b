#include "featreuse/dist/reducer.hpp"

#include <cstdio>

#include "featreuse/core/enum_names.hpp"
#include "featreuse/core/error.hpp"

namespace featreuse::dist {

namespace {

const EnumNames<GradientSync>& sync_names() {
  static const EnumNames<GradientSync> names("allreduce", {{GradientSync::automatic, "auto"},
                                                           {GradientSync::overlapped, "overlapped"},
                                                           {GradientSync::after_backward, "after-backward"}});
  return names;
}

}  // namespace

GradientSync parse_gradient_sync(const std::string& text) { return sync_names().parse(text); }
const char* gradient_sync_name(GradientSync sync) { return sync_names().name(sync); }

std::string averaging_description(const char* backend, bool during_backward, size_t bucket_bytes) {
  char size[32];
  if (bucket_bytes >= size_t(1) << 20)
    std::snprintf(size, sizeof size, "%.4g MB", double(bucket_bytes) / double(1 << 20));
  else
    std::snprintf(size, sizeof size, "%.4g KB", double(bucket_bytes) / 1024.0);
  return std::string(backend) + (during_backward ? ", during" : ", after") + " backward, " + size +
         " buckets";
}

#ifdef FEATREUSE_WITH_NCCL
std::unique_ptr<GradientReducer> make_nccl_reducer(MPI_Comm group_comm, c10::Device device,
                                                   const ReducerOptions& options);
#endif

bool nccl_available() {
#ifdef FEATREUSE_WITH_NCCL
  return true;
#else
  return false;
#endif
}

std::unique_ptr<GradientReducer> make_reducer(MPI_Comm group_comm, c10::Device device,
                                              const ReducerOptions& options) {
  if (!device.is_cuda()) return make_mpi_reducer(group_comm, options);
#ifdef FEATREUSE_WITH_NCCL
  return make_nccl_reducer(group_comm, device, options);
#else
  throw Error("data-parallel groups on " + device.str() +
              " need NCCL, and this build has none (build against a CUDA LibTorch: scripts/build-cuda.sh)");
#endif
}

}  // namespace featreuse::dist
