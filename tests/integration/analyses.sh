#!/bin/bash
# Analyses added to a finished study: a run of the grid alone, then the same
# job with its analyses: no cell is trained again, every analysis task runs
# once, its tables are filled and linked from the cells, l2 matches numpy on
# the stored checkpoints, CKA of a network with itself is 1. A third run does
# nothing; status and report show the analyses, in every --format.
source "$(dirname "$0")/lib.sh"

job="$WORK/analyses.yaml"
sed "s#^configs: .*#configs: $SOURCE_DIR/tests/data/configs#" "$JOBS/analyses.yaml" > "$job"
sed '/^analyses:/,$d' "$job" > "$WORK/grid_only.yaml"

$MPIRUN 2 "$FEATREUSE" run "$WORK/grid_only.yaml" --store "$WORK/s.h5" > "$WORK/run1.log" 2>&1 ||
  fail "grid run failed: $(tail -5 "$WORK/run1.log")"
check_py counts "$WORK/s.h5" 18 0 0  # 2 sources, 2 ST draws per source, 12 cells
check_py snapshot "$WORK/s.h5" "$WORK/snap.json"

$MPIRUN 2 "$FEATREUSE" run "$job" --store "$WORK/s.h5" > "$WORK/run2.log" 2>&1 ||
  fail "analysis run failed: $(tail -5 "$WORK/run2.log")"
grep -q "18 done before (skipped)" "$WORK/run2.log" || fail "the grid's tasks were not skipped: $(grep tasks: "$WORK/run2.log")"
check_py unchanged "$WORK/s.h5" "$WORK/snap.json"
# knn, reinit, l2, cka: 12 cells; cka_cross: 4 WT cells; attention_distance: 6 DeiT cells.
check_py analyses "$WORK/s.h5" $((4 * 12 + 4 + 6))
check_py schema "$WORK/s.h5"
check_py counts "$WORK/s.h5" 76 0 0

check_py snapshot "$WORK/s.h5" "$WORK/snap2.json"
$MPIRUN 2 "$FEATREUSE" run "$job" --store "$WORK/s.h5" > "$WORK/run3.log" 2>&1 || fail "third run failed"
grep -q "76 done before (skipped)" "$WORK/run3.log" || fail "a done analysis ran again"
check_py unchanged "$WORK/s.h5" "$WORK/snap2.json"

"$FEATREUSE" status "$WORK/s.h5" > "$WORK/status.txt" || fail "status failed"
grep -q "analysis" "$WORK/status.txt" || fail "status does not count analyses: $(cat "$WORK/status.txt")"
"$FEATREUSE" report "$WORK/s.h5" > "$WORK/report.txt" || fail "report failed"
for section in "layer-wise k-NN" "re-initialisation" "l2 drift" "CKA" "attention distance" "convergence"; do
  grep -qi "$section" "$WORK/report.txt" || fail "report has no $section section: $(cat "$WORK/report.txt")"
done
# The other formats: json with numbers (the analyses have a std: two seeds),
# csv blocks that pandas reads to the same columns, markdown tables.
for format in json csv md; do
  "$FEATREUSE" report "$WORK/s.h5" --format $format > "$WORK/report.$format" || fail "report --format $format failed"
done
"$PY" - "$WORK" << 'EOF' || fail "report's json, csv or md is wrong"
import io, json, sys
import pandas as pd
work = sys.argv[1]
sections = json.load(open(f"{work}/report.json"))["sections"]
names = [s["name"] for s in sections]
assert names == ["cells", "figure1", "welch", "convergence", "knn", "reinit", "l2", "cka", "cka_cross",
                 "attention_distance"], names
for s in sections:
    if s["name"] in ("knn", "reinit", "l2", "cka"):
        std = [row[s["columns"].index("wt std")] for row in s["rows"]]
        assert std and all(isinstance(x, float) for x in std), (s["name"], std)
blocks = open(f"{work}/report.csv").read().split("\n\n")
assert len(blocks) == len(sections)
for block, s in zip(blocks, sections):
    frame = pd.read_csv(io.StringIO(block), comment="#")
    assert list(frame.columns) == s["columns"] and len(frame) == len(s["rows"]), s["name"]
md = open(f"{work}/report.md").read()
assert all(f"## {name}\n" in md for name in names)
assert sum(line.startswith("| ---") for line in md.splitlines()) == 4 + 2 * 5 + 1  # attention: ViT only
EOF
echo "PASS analyses"
