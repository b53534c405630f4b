#!/bin/bash
# A rehearsal of the paper's analysis study (jobs/paper/figures3-6_analyses.yaml) before its GPU
# hours: the paper's four architectures (DeiT-S, Swin-T, InceptionV3, ResNet50) at 224 px, ST, WT
# and one WT-ST depth each, every analysis, then status, report and every figure the store allows.
# It checks a build and a machine (device, MPI, store, Python reader) end to end, not the science:
# the data are a synthetic PatchCamelyon of 240 images (`featreuse synth pcam`), the sources are
# trained on them from random weights instead of the ImageNet files, and the paper's recipe is cut
# to one epoch of 32 images, so the numbers mean nothing.
#
#   scripts/rehearse_paper.sh OUT [--plan | run options, e.g. --device cuda]
#
# OUT gets the data, configs, job, store (rehearsal.h5), logs, report.txt and figures/. Running it
# again with the same OUT continues the store. --plan only prepares the data and prints the plan
# (seconds; CTest runs that). RANKS (default 2) ranks under mpirun; FEATREUSE (default
# build/src/app/featreuse), PYTHON (default /usr/bin/python3, with h5py, pandas and matplotlib).
# 82 tasks; about 7 minutes on 2 CPU cores (docs/reproduce.md, "A rehearsal first").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { sed -n '2,16p' "$0" >&2; exit 2; }
out=$(mkdir -p "$1" && cd "$1" && pwd)
shift
featreuse=${FEATREUSE:-$root/build/src/app/featreuse}
python=${PYTHON:-/usr/bin/python3}
ranks=${RANKS:-2}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

# The shipped model and recipe configs, and the PCam config pointed at the synthetic data.
mkdir -p "$out/configs/datasets"
cp -r "$root/configs/models" "$root/configs/recipes" "$out/configs/"
sed -e "s|^root: .*|root: $out/pcam|" -e "s|^cache: .*|cache: $out/pcam.h5|" \
  "$root/configs/datasets/pcam.yaml" > "$out/configs/datasets/syn_pcam.yaml"
if [ ! -f "$out/pcam.h5" ]; then
  "$featreuse" synth pcam --out "$out/pcam" --n 240 > /dev/null
  "$featreuse" prepare "$out/configs/datasets/syn_pcam.yaml" > "$out/prepare.log" 2>&1 ||
    { cat "$out/prepare.log"; exit 1; }
fi

# The analysis study's shape: its models, inits and analyses; one seed, one WT-ST depth per model
# (a unit fraction of each, as the paper's job has), a fixed draw of 16 test images per analysis.
cat > "$out/job.yaml" << 'EOF'
name: rehearsal_paper_analyses
configs: configs
recipe: paper
overrides:
  recipe: {epochs: 1, batch_size: 16, eval_batch_size: 32, train_size: 32}
sources:
  s_resnet50: {model: resnet50, dataset: syn_pcam, seed: 0}
  s_inception: {model: inception_v3, dataset: syn_pcam, seed: 0}
  s_deit: {model: deit_small, dataset: syn_pcam, seed: 0}
  s_swin: {model: swin_tiny, dataset: syn_pcam, seed: 0}
grid:
  model: [deit_small, swin_tiny, inception_v3, resnet50]
  dataset: [syn_pcam]
  init: [st, wt, wtst]
  wt_fraction: [0.2, 0.2857142857142857, 0.5384615384615384]
  seed: [0]
include:
  - {init: [st, wt]}
  - {init: wtst, model: resnet50, wt_fraction: [0.2]}
  - {init: wtst, model: inception_v3, wt_fraction: [0.2857142857142857]}
  - {init: wtst, model: [deit_small, swin_tiny], wt_fraction: [0.5384615384615384]}
analyses:
  knn: {k: 5, test_images: 16, cells: {init: [st, wt, wtst]}}
  reinit: {test_images: 16, cells: {init: [st, wt, wtst]}}
  l2: {cells: {init: [st, wt, wtst]}}
  cka: {test_images: 16, cells: {init: [st, wt, wtst]}}
  cka_cross: {test_images: 16, cells: {init: [wt, wtst]}}
  attention_distance: {test_images: 16, cells: {model: [deit_small, swin_tiny]}}
EOF
cd "$out"
if [ "${1:-}" = --plan ]; then
  exec "$featreuse" plan job.yaml --ranks "$ranks"
fi

start=$SECONDS
mpirun -np "$ranks" --oversubscribe --bind-to none "$featreuse" run job.yaml --store rehearsal.h5 --strict "$@" \
  2> run.log || { tail -30 run.log; echo "rehearsal: the run failed (log: $out/run.log)" >&2; exit 1; }
echo "rehearsal: the run took $((SECONDS - start)) s"
"$featreuse" status rehearsal.h5
"$featreuse" report rehearsal.h5 > report.txt
if ! "$python" -c "import h5py, pandas, matplotlib" 2> /dev/null; then
  echo "rehearsal: ok without figures: $python lacks h5py, pandas or matplotlib (PYTHON=... to name another)"
  exit 0
fi
PYTHONPATH=$root/python${PYTHONPATH:+:$PYTHONPATH} MPLBACKEND=Agg \
  "$python" -m featreuse.figures rehearsal.h5 --out figures > figures.txt
cat figures.txt
# Every figure this study can draw (Figures 1 right, 7 and 8 right need RI cells or several sizes).
missing=
for figure in figure1_target figure2_wtst figure4_l2 figure5_reinit figure6_knn figure6_knn_max figure8_curves \
  appendix_e_attention; do
  [ -s "figures/$figure.png" ] || missing+=" $figure"
done
for model in deit_small swin_tiny inception_v3 resnet50; do
  for kind in cka cka_cross; do
    [ -s "figures/figure3_${kind}_${model}_syn_pcam.png" ] || missing+=" figure3_${kind}_${model}"
  done
done
[ -z "$missing" ] || { echo "rehearsal: figures not drawn:$missing" >&2; exit 1; }
echo "rehearsal: ok (store, report.txt and figures/ in $out)"
