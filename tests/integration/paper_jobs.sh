#!/bin/bash
# The paper's job files (jobs/paper/): `featreuse plan` accepts each of them on a machine without
# the datasets, says what is missing and where it is looked for, and lists as many tasks as the
# job's grid implies. The expected counts are computed here, independently of featreuse, from the
# job file itself (a small model of docs/jobs.md: grid product, include/exclude, cells that
# resolve to the same config, ST draws per source and seed, analyses and the cells they apply to).
source "$(dirname "$0")/lib.sh"

PAPER=$SOURCE_DIR/jobs/paper
ls "$PAPER"/*.yaml > /dev/null || fail "no job files in $PAPER"

# What a job file implies, from the YAML alone: "tasks grid filtered duplicates skipped" and,
# one per line after it, the weight files it names (absolute) and the dataset configs it uses.
expect() { # JOB CONFIGS_DIR
  "$PY" - "$1" "$2" << 'EOF'
import itertools, os, sys, yaml

job_file, configs = sys.argv[1], sys.argv[2]
job = yaml.safe_load(open(job_file))
NEEDS_SOURCE = {"st", "wt", "wtst"}
DEPTH_AXES = {"wt_fraction", "wt_blocks"}  # parameters of wtst only

def as_list(v):
    return v if isinstance(v, list) else [v]

def matches(pattern, point):
    return all(point.get(k) in as_list(v) for k, v in pattern.items())

grid = {k: as_list(v) for k, v in job["grid"].items()}
grid.setdefault("init", ["ri"])
grid.setdefault("seed", [0])
names = list(grid)
points = [dict(zip(names, values)) for values in itertools.product(*grid.values())]
kept = [p for p in points
        if ("include" not in job or any(matches(q, p) for q in job["include"]))
        and not any(matches(q, p) for q in job.get("exclude", []))]

def cell_axes(p):  # the axes that make a cell: depth only for wtst
    return {k: v for k, v in p.items() if k not in DEPTH_AXES or p["init"] == "wtst"}

cells, seen = [], set()
for p in kept:
    key = tuple(sorted((k, repr(v)) for k, v in cell_axes(p).items()))
    if key not in seen:
        seen.add(key)
        cells.append(cell_axes(p))

sources = job.get("sources", {})
source_of_model = {}
for name, s in sources.items():
    assert s["model"] not in source_of_model, "two sources with one model needs a source axis"
    source_of_model[s["model"]] = name
for c in cells:
    if c["init"] in NEEDS_SOURCE:
        assert c["model"] in source_of_model, f"no source for {c['model']}"
st_draws = {(source_of_model[c["model"]], c["seed"]) for c in cells if c["init"] in ("st", "wtst")}

def arch(model):
    return yaml.safe_load(open(os.path.join(configs, "models", model + ".yaml")))["arch"]

def partner_key(c):
    return tuple(sorted((k, repr(v)) for k, v in c.items() if k != "init" and k not in DEPTH_AXES))

st_cells = {partner_key(c) for c in cells if c["init"] == "st"}
analyses = job.get("analyses") or {}
if isinstance(analyses, list):
    analyses = {name: None for name in analyses}
planned = skipped = 0
for name, options in analyses.items():
    chosen = [c for c in cells if matches((options or {}).get("cells", {}), c)]
    for c in chosen:
        if name == "attention_distance":
            applies = arch(c["model"]).startswith(("deit", "swin"))
        elif name == "cka_cross":
            applies = c["init"] in ("wt", "wtst") and partner_key(c) in st_cells
        else:
            applies = True
        planned += applies
        skipped += not applies

tasks = len(sources) + len(st_draws) + len(cells) + planned
print(tasks, len(points), len(points) - len(kept), len(kept) - len(cells), skipped)
job_dir = os.path.dirname(os.path.abspath(job_file))
for s in (s for s in sources.values() if "weights" in s):  # a source trained by the job names none
    print("weights", os.path.normpath(os.path.join(job_dir, s["weights"])))
for d in grid["dataset"]:
    print("dataset", d)
EOF
}

# 1. The job files where they are: without the ImageNet weight files `plan` still plans (exit 0),
#    listing every missing file with its full path and the job file, and `run` refuses the job
#    (exit 1) naming a missing file, before it creates a store.
for job in "$PAPER"/*.yaml; do
  expect "$job" "$SOURCE_DIR/configs" > "$WORK/expected.txt"
  missing=$(awk '$1 == "weights" {print $2}' "$WORK/expected.txt" | while read -r w; do
    [ -f "$w" ] || echo "$w"; done)
  "$FEATREUSE" plan "$job" > "$WORK/out.txt" 2> "$WORK/err.txt" || { cat "$WORK/err.txt"; fail "$job: plan failed"; }
  [ -z "$missing" ] && continue
  listed=$(sed -n "s/^  ! .*no such file '\([^']*\)'.*/\1/p" "$WORK/out.txt" | sort -u)
  [ "$listed" = "$(sort -u <<< "$missing")" ] ||
    fail "$job: plan listed missing weight files '$listed', expected '$missing'"
  grep -qF "$(basename "$job"):" "$WORK/out.txt" || fail "$job: the missing files' lines do not name the job file"
  if "$FEATREUSE" run "$job" --store "$WORK/refused.h5" > /dev/null 2> "$WORK/err.txt"; then
    fail "$job: run accepted a job whose weight files are missing"
  fi
  named=$(sed -n "s/.*no such file '\([^']*\)'.*/\1/p" "$WORK/err.txt")
  grep -qxF "$named" <<< "$missing" || { cat "$WORK/err.txt"; fail "$job: run's error names no missing file"; }
  [ ! -e "$WORK/refused.h5" ] || fail "$job: run created a store for a job it refused"
done

# 2. A copy of the job files with stand-in weight files (plan identifies a weight file by its
#    bytes; it does not read the tensors) and no dataset at all: plan exits 0, lists the
#    expected tasks and says once for each dataset which prepared cache is missing, where, the
#    `featreuse prepare` command that makes it and how many tasks use it.
TREE=$WORK/tree
mkdir -p "$TREE/jobs/paper/weights" "$WORK/data"
cp -r "$SOURCE_DIR/configs" "$TREE/configs"
cp "$PAPER"/*.yaml "$TREE/jobs/paper/"
export FEATREUSE_DATA=$WORK/data
for job in "$TREE"/jobs/paper/*.yaml; do
  name=$(basename "$job")
  expect "$job" "$TREE/configs" > "$WORK/expected.txt"
  awk '$1 == "weights" {print $2}' "$WORK/expected.txt" | while read -r w; do
    [ -f "$w" ] || echo "stand-in for $(basename "$w")" > "$w"; done
  read -r tasks points filtered duplicates skipped < "$WORK/expected.txt"
  "$FEATREUSE" plan "$job" > "$WORK/out.txt" 2> "$WORK/err.txt" || { cat "$WORK/err.txt"; fail "$name: plan failed"; }
  header=$(head -1 "$WORK/out.txt")
  want="$tasks tasks ($points grid points; $filtered filtered, 0 with a source of another model, $duplicates duplicates; $skipped analyses of cells they do not apply to)"
  grep -qF "$want" <<< "$header" || fail "$name: expected '$want', plan printed: $header"
  listed=$(grep -cE '^ *[0-9]+  [0-9a-f]{12}  ' "$WORK/out.txt")
  [ "$listed" = "$tasks" ] || fail "$name: $listed task rows listed, expected $tasks"
  # The schedule's order takes every task once (runs of consecutive tasks written first-last).
  sed -n 's/^  group [0-9]*: //p' "$WORK/out.txt" | tr ' ' '\n' |
    awk -F- 'NF == 2 {for (i = $1; i <= $2; i++) print i; next} {print}' | sort -n > "$WORK/ordered.txt"
  seq 0 $((tasks - 1)) | cmp -s - "$WORK/ordered.txt" || fail "$name: the order does not take each of the $tasks tasks once"
  total=$(sed -n 's/^total estimated cost \([0-9.e+]*\); estimated makespan.*/\1/p' "$WORK/out.txt")
  [ -n "$total" ] || fail "$name: no total cost"
  # Every paper dataset config gives its split sizes: costs are known before the caches exist.
  awk -v t="$total" 'BEGIN {exit !(t > 1e9)}' || fail "$name: total cost $total without the caches"
  for dataset in $(awk '$1 == "dataset" {print $2}' "$WORK/expected.txt"); do
    cache=$(sed -n 's/^cache: *\([^ #]*\).*/\1/p' "$TREE/configs/datasets/$dataset.yaml")
    grep -qF "! dataset '$dataset': prepared cache '$WORK/data/$cache' does not exist; make it with: featreuse prepare $dataset" \
      "$WORK/out.txt" || fail "$name: no message about the missing cache of $dataset"
    said=$(grep -c "! dataset '$dataset': prepared cache .* ([0-9]* tasks\?)$" "$WORK/out.txt")
    [ "$said" = 1 ] || fail "$name: the missing cache of $dataset said $said times (once, with its task count)"
  done
  echo "$name: $header"
done
# 3. The rehearsal of the analysis study (scripts/rehearse_paper.sh, docs/reproduce.md): its job,
#    written and planned on synthetic data, has the tasks its grid implies (the run itself takes
#    minutes at 224 px: it is run by hand and by the GPU check).
unset FEATREUSE_DATA
RANKS=2 bash "$SOURCE_DIR/scripts/rehearse_paper.sh" "$WORK/rehearsal" --plan > "$WORK/out.txt" 2> "$WORK/err.txt" ||
  { cat "$WORK/err.txt"; fail "rehearse_paper.sh --plan failed"; }
expect "$WORK/rehearsal/job.yaml" "$WORK/rehearsal/configs" > "$WORK/expected.txt"
read -r tasks points filtered duplicates skipped < "$WORK/expected.txt"
want="$tasks tasks ($points grid points; $filtered filtered, 0 with a source of another model, $duplicates duplicates; $skipped analyses of cells they do not apply to)"
grep -qF "$want" "$WORK/out.txt" || { head -3 "$WORK/out.txt"; fail "rehearsal: expected '$want'"; }
! grep -q "^ *! " "$WORK/out.txt" || { grep "^ *! " "$WORK/out.txt"; fail "rehearsal: plan finds something missing"; }
echo "rehearsal: $(head -1 "$WORK/out.txt")"
echo "PASS paper_jobs"
