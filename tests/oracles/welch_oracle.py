#!/usr/bin/python3
"""Welch's t-test of `featreuse report` (src/app/welch.cpp) against scipy.

Usage: welch_oracle.py --checker BIN

BIN = welch_oracle_check (tests/oracles/welch_check.cpp) reads samples and
prints t, df and the two-sided p. For each pair of samples: t and p must equal
scipy.stats.ttest_ind(a, b, equal_var=False) to 1e-10 (relative; p to 1e-12
absolute as well, for tiny p); df must equal the Welch-Satterthwaite formula
computed with numpy, and scipy's Student t at that df must give the same p (so
df is the one scipy used). Samples with fewer than 2 values on a side, or with
no variance on either side, must give "none", never a number. Exits non-zero
on any failure; never skips.
"""
import argparse
import math
import subprocess
import sys
import warnings

import numpy as np
from scipy import stats


def cases():
    rng = np.random.default_rng(20220601)
    out = [
        ([0.71, 0.74], [0.52, 0.60]),  # two seeds a side, as the report's studies
        ([0.71, 0.74, 0.69], [0.52, 0.60]),
        ([1.0, 2.0, 3.0], [2.0, 5.0, 7.0, 9.0]),
        ([0.5, 0.5, 0.5], [0.3, 0.65, 0.4]),  # one side without variance
        ([0.3, 0.4, 0.5], [0.5, 0.4, 0.3]),  # equal means: t = 0, p = 1
        ([-3.0, -2.5, -2.9, -3.2], [7.0, 7.1, 6.9, 7.05, 7.2]),  # tiny p
    ]
    for n, m in [(2, 2), (5, 8), (3, 10), (30, 25), (4, 4)]:
        out.append((list(rng.normal(0.8, 0.05, n)), list(rng.normal(0.75, 0.2, m))))
    return out


UNDEFINED = [([0.7], [0.5, 0.6]), ([0.5, 0.6], [0.7]), ([], [0.1, 0.2]), ([0.4, 0.4], [0.5, 0.5, 0.5])]


def welch_df(a, b):
    va, vb = np.var(a, ddof=1) / len(a), np.var(b, ddof=1) / len(b)
    return (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))


def close(x, y, rel=1e-10, abs_=0.0):
    return math.isclose(x, y, rel_tol=rel, abs_tol=abs_)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--checker", required=True)
    args = parser.parse_args()
    pairs = cases() + UNDEFINED
    text = "".join(" ".join(repr(float(x)) for x in a) + " | " + " ".join(repr(float(x)) for x in b) + "\n"
                   for a, b in pairs)
    run = subprocess.run([args.checker], input=text, capture_output=True, text=True, check=True)
    lines = run.stdout.splitlines()
    assert len(lines) == len(pairs), run.stdout
    failures = []
    for (a, b), line in zip(pairs, lines):
        if (a, b) in UNDEFINED:
            if line != "none":
                failures.append(f"{a} vs {b}: expected none, got {line}")
            continue
        t, df, p = map(float, line.split())
        with warnings.catch_warnings():  # scipy warns about the side without variance
            warnings.simplefilter("ignore", RuntimeWarning)
            want = stats.ttest_ind(a, b, equal_var=False)
        checks = {
            "t": close(t, want.statistic, abs_=1e-12),
            "p": close(p, want.pvalue, abs_=1e-12),
            "df": close(df, welch_df(a, b)),
            "p at df": close(2 * stats.t.sf(abs(t), df), want.pvalue, abs_=1e-12),
        }
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            failures.append(f"{a} vs {b}: {bad}: featreuse t={t} df={df} p={p}, scipy t={want.statistic} "
                            f"p={want.pvalue} df={welch_df(a, b)}")
        else:
            print(f"ok n={len(a)},{len(b)}: t={t:.6g} df={df:.6g} p={p:.6g}")
    for f in failures:
        print("FAIL", f)
    if failures:
        sys.exit(1)
    print(f"PASS welch_oracle ({len(pairs)} pairs)")


if __name__ == "__main__":
    main()
