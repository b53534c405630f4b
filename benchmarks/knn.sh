#!/bin/bash
# The layer-wise k-NN on a synthetic bank as large as a CheXpert probe's:
# featreuse's chunked kernel (`featreuse bench knn`) against DINO's k-NN in
# PyTorch (the reference's implementation), one thread each, in the same run.
# Prints both JSON lines and the time ratio. Usage:
#   benchmarks/knn.sh [FEATREUSE] [BANK] [DIM] [QUERIES]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
featreuse=${1:-$root/build/src/app/featreuse}
bank=${2:-200000} dim=${3:-768} queries=${4:-5000} classes=5 k=200
source "$root/benchmarks/same_blas_kernels.sh"
ours=$(OMP_NUM_THREADS=1 "$featreuse" bench knn --bank "$bank" --dim "$dim" --queries "$queries" \
  --classes "$classes" --k "$k" --threads 1)
reference=$(OMP_NUM_THREADS=1 /usr/bin/python3 "$root/benchmarks/knn_reference.py" "$bank" "$dim" "$queries" \
  "$classes" "$k")
echo "featreuse: $ours"
echo "reference: $reference"
/usr/bin/python3 - "$ours" "$reference" << 'PYEOF'
import json, sys
ours, ref = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"time: featreuse {ours['seconds']:.1f} s, reference {ref['seconds']:.1f} s, "
      f"ratio {ref['seconds'] / ours['seconds']:.2f}x")
print(f"peak resident memory: featreuse {ours['peak_rss_mib']:.0f} MiB (inputs {ours['inputs_mib']:.0f}), "
      f"reference {ref['peak_rss_mib']:.0f} MiB (inputs {ref['inputs_mib']:.0f})")
PYEOF
