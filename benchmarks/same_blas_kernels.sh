# Sourced by the benchmarks that time featreuse against Python: gives the
# Python side the OpenBLAS kernels featreuse runs on. featreuse replaces
# OpenBLAS's fallback kernels on a CPU that OpenBLAS does not know
# (docs/performance.md, "Which OpenBLAS kernels"); Python would keep them.
# Needs $featreuse; exports OPENBLAS_CORETYPE unless the user set it.
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
  core=$(OPENBLAS_VERBOSE=2 "$featreuse" --version 2>&1 | sed -n 's/^Core: //p' | tail -1)
  if [ -n "$core" ]; then export OPENBLAS_CORETYPE=$core; fi
fi
echo "OpenBLAS kernels: ${OPENBLAS_CORETYPE:-not OpenBLAS or not reported}"
