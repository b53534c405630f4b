#include "featreuse/dist/reducer.hpp"

#include "featreuse/core/error.hpp"

namespace featreuse::dist {

#ifdef FEATREUSE_WITH_NCCL
std::unique_ptr<GradientReducer> make_nccl_reducer(MPI_Comm group_comm, c10::Device device,
                                                   size_t bucket_bytes);
#endif

bool nccl_available() {
#ifdef FEATREUSE_WITH_NCCL
  return true;
#else
  return false;
#endif
}

std::unique_ptr<GradientReducer> make_reducer(MPI_Comm group_comm, c10::Device device, size_t bucket_bytes) {
  if (!device.is_cuda()) return make_mpi_reducer(group_comm, bucket_bytes);
#ifdef FEATREUSE_WITH_NCCL
  return make_nccl_reducer(group_comm, device, bucket_bytes);
#else
  throw Error("data-parallel groups on " + device.str() +
              " need NCCL, and this build has none (build against a CUDA LibTorch: scripts/build-cuda.sh)");
#endif
}

}  // namespace featreuse::dist
