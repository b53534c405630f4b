"""The figures command: every figure a store can give, in the paper's order, skipped ones named."""

import argparse
import os
import sys

from ..store import StoreError, open_store
from ..stores import open_stores
from .attention import figure_e_attention
from .cka import figure3_cka, figure3_cka_cross
from .curves import figure8_curves, figure8_speedup
from .probes import figure4_l2, figure5_reinit, figure6_knn, figure6_knn_max
from .study import Skipped, Study
from .sweeps import figure2_wtst, figure7_capacity
from .targets import figure1_target, figure1_transfer

DESCRIPTION = "The paper's figures from a featreuse store."

FIGURES = (
    ("Figure 1 (target by init)", figure1_target),
    ("Figure 1 (transfer gains)", figure1_transfer),
    ("Figure 2 (WT-ST sweep)", figure2_wtst),
    ("Figure 3 (CKA)", figure3_cka),
    ("Figure 3 (CKA vs ST)", figure3_cka_cross),
    ("Figure 4 (l2 drift)", figure4_l2),
    ("Figure 5 (re-initialisation)", figure5_reinit),
    ("Figure 6 (k-NN)", figure6_knn),
    ("Figure 6 bottom (best k-NN per WT-ST depth)", figure6_knn_max),
    ("Figure 7 (capacity)", figure7_capacity),
    ("Figure 8 (validation curves)", figure8_curves),
    ("Figure 8 right (convergence speed-up)", figure8_speedup),
    ("App. E (attention distance)", figure_e_attention),
)


def draw_all(store, out_dir, where=None, log=print):
    """Draw every figure the store can give into out_dir; returns (written paths, [(figure, why skipped)])."""
    os.makedirs(out_dir, exist_ok=True)
    study = Study(store, where)
    written, skipped = [], []
    for name, draw in FIGURES:
        try:
            paths = draw(study, out_dir)
        except Skipped as why:
            skipped.append((name, str(why)))
            log(f"{name}: skipped: {why}")
            continue
        written.extend(paths)
        log(f"{name}: {', '.join(os.path.basename(p) for p in paths)}")
    return written, skipped


def parse_where(items):
    """['model=resnet_small', 'init=ri,wt', 'train_size=250'] -> {axis: value or list}, numbers typed."""
    where = {}
    for item in items or []:
        axis, sep, text = item.partition("=")
        if not sep:
            raise ValueError(f"--where {item!r}: expected AXIS=VALUE[,VALUE...]")
        values = [typed_value(v) for v in text.split(",")]
        where[axis] = values if len(values) > 1 else values[0]
    return where


def typed_value(text):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return None if text in ("none", "null") else text


def main(argv=None):
    parser = argparse.ArgumentParser(prog="featreuse-figures", description=DESCRIPTION)
    parser.add_argument("stores", nargs="+", metavar="store",
                        help="a featreuse store (.h5), or several stores of one study")
    parser.add_argument("--out", required=True, help="folder for the PNGs")
    parser.add_argument("--where", nargs="*", metavar="AXIS=VALUE",
                        help="only cells with these axis values, e.g. model=resnet_small train_size=250,2500")
    args = parser.parse_args(argv)
    try:
        where = parse_where(args.where)
        with (open_store(args.stores[0]) if len(args.stores) == 1 else open_stores(args.stores)) as store:
            written, _ = draw_all(store, args.out, where)
    except (StoreError, ValueError, FileNotFoundError) as error:
        print(f"featreuse-figures: {error}", file=sys.stderr)
        return 1
    if not written:
        print("featreuse-figures: no figure could be drawn from this store", file=sys.stderr)
        return 1
    print(f"{len(written)} figures in {args.out}")
    return 0
