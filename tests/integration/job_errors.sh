#!/bin/bash
# Mistakes in a job file stop `plan` and `run` with exit code 2 (a user error)
# and a message naming the file, the key and what was expected; nothing is created.
source "$(dirname "$0")/lib.sh"

expect_error() {  # job text, expected message fragment
  printf '%s\n' "$1" > "$WORK/bad.yaml"
  sed -i "1i configs: $SOURCE_DIR/tests/data/configs" "$WORK/bad.yaml"
  local rc=0
  "$FEATREUSE" plan "$WORK/bad.yaml" > /dev/null 2> "$WORK/err.txt" || rc=$?
  [ "$rc" = 2 ] || { cat "$WORK/err.txt"; fail "plan exited $rc, not 2: $1"; }
  grep -qF "$2" "$WORK/err.txt" || { cat "$WORK/err.txt"; fail "message lacks '$2'"; }
  rc=0
  $MPIRUN 2 "$FEATREUSE" run "$WORK/bad.yaml" --store "$WORK/bad.h5" 2> "$WORK/err.txt" || rc=$?
  [ "$rc" = 2 ] || { cat "$WORK/err.txt"; fail "run exited $rc, not 2: $1"; }
  grep -qF "$2" "$WORK/err.txt" || { cat "$WORK/err.txt"; fail "run message lacks '$2'"; }
  [ ! -e "$WORK/bad.h5" ] || fail "a store was created for a bad job"
}
expect_error "grid: {model: [tiny], dataset: [fm]}
epochs: 3" "bad.yaml:3: key 'epochs': unknown top-level key"
expect_error "grid: {model: [resnet999], dataset: [fm]}" "unknown model 'resnet999'"
expect_error "grid: {model: [tiny], dataset: [fm], lr: [fast]}" "key 'grid.lr': expected a number"
expect_error "grid: {model: [tiny], dataset: [nodata]}" "datasets/nodata.yaml (known: fm, fm_missing)"
expect_error "recipe: nosuch
grid: {model: [tiny], dataset: [fm]}" "recipes/nosuch.yaml"
echo "PASS job_errors"
