#!/bin/bash
# Lint: every C++ file (*.cpp, *.hpp) is formatted as .clang-format says.
# Usage: check_format.sh [REPO_ROOT]   (default: two levels above this script)
# Files are the tracked ones (git ls-files); outside a git checkout, every
# *.cpp/*.hpp under src, include, tests and benchmarks. Changes nothing.
set -uo pipefail
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root" || exit 2
clang_format=${CLANG_FORMAT:-clang-format}
if ! command -v "$clang_format" > /dev/null; then
  echo "check_format: $clang_format not found; scripts/install-deps.sh installs it (Debian package clang-format)"
  exit 1
fi
if [ ! -f .clang-format ]; then
  echo "check_format: no .clang-format in $root"
  exit 1
fi

files=()
if git rev-parse --is-inside-work-tree > /dev/null 2>&1; then
  while IFS= read -r -d '' f; do
    [ -f "$f" ] && files+=("$f")  # skip tracked files deleted in the work tree
  done < <(git ls-files -z -- '*.cpp' '*.hpp')
else
  dirs=()
  for d in src include tests benchmarks; do [ -d "$d" ] && dirs+=("$d"); done
  if [ ${#dirs[@]} -gt 0 ]; then
    while IFS= read -r -d '' f; do files+=("$f"); done \
      < <(find "${dirs[@]}" \( -name '*.cpp' -o -name '*.hpp' \) -type f -print0 | sort -z)
  fi
fi
if [ ${#files[@]} -eq 0 ]; then
  echo "check_format: no *.cpp/*.hpp files found in $root"
  exit 1
fi

bad=()
for f in "${files[@]}"; do
  if ! "$clang_format" --dry-run --Werror "$f" > /dev/null 2>&1; then
    bad+=("$f")
  fi
done

if [ ${#bad[@]} -gt 0 ]; then
  echo "check_format: ${#bad[@]} of ${#files[@]} files are not formatted as .clang-format says:"
  printf '  %s\n' "${bad[@]}"
  echo "fix (from $root):"
  echo "  clang-format -i ${bad[*]}"
  exit 1
fi
echo "check_format: all ${#files[@]} files formatted ($("$clang_format" --version))"
