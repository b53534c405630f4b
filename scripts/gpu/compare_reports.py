#!/usr/bin/env python3
"""Compares two `featreuse report --format json` outputs of one study computed on two devices
(e.g. its analyses on the GPU, then again on the CPU): every section and row must match, strings
exactly and numbers within TOL (absolute), and the largest difference of each section is printed.
Python's standard library only: GPU machines may lack numpy and h5py.

Usage: compare_reports.py A.json B.json [TOL]   (TOL default 0.01: a k-NN or re-init metric may
move by a test image or two between devices, CKA and attention distances by float32 rounding)
"""
import json
import math
import sys


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def cell_difference(a, b):
    """The absolute difference of two cells, inf where they cannot be compared."""
    if is_number(a) and is_number(b):
        if math.isnan(a) or math.isnan(b):
            return 0.0 if math.isnan(a) and math.isnan(b) else math.inf
        return abs(a - b)
    return 0.0 if a == b else math.inf


def section_difference(a, b):
    if a["columns"] != b["columns"] or len(a["rows"]) != len(b["rows"]):
        return math.inf
    worst = 0.0
    for row_a, row_b in zip(a["rows"], b["rows"]):
        if len(row_a) != len(row_b):
            return math.inf
        for x, y in zip(row_a, row_b):
            worst = max(worst, cell_difference(x, y))
    return worst


def main(path_a, path_b, tolerance):
    sections_a = json.load(open(path_a))["sections"]
    sections_b = json.load(open(path_b))["sections"]
    if [s["name"] for s in sections_a] != [s["name"] for s in sections_b]:
        print(f"the reports have different sections: {[s['name'] for s in sections_a]} vs "
              f"{[s['name'] for s in sections_b]}")
        return 1
    failed = 0
    for a, b in zip(sections_a, sections_b):
        worst = section_difference(a, b)
        verdict = "ok" if worst <= tolerance else "DIFFERS"
        failed += worst > tolerance
        print(f"{verdict:7} {a['name']:24} largest difference {worst:.3g} over {len(a['rows'])} rows")
    print(f"{failed} of {len(sections_a)} sections differ by more than {tolerance}")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2], float(sys.argv[3]) if len(sys.argv) == 4 else 0.01))
