#!/usr/bin/python3
"""Oracles for featreuse's LrSchedule, from PyTorch's own schedulers.

Prints JSON {"plateau": [...], "reference": [...]}:
- plateau: ReduceLROnPlateau (mode max, relative threshold) fed sequences of
  validation values rounded to `decimals`, as the reference rounds every
  metric: {"lr", "factor", "patience", "threshold", "decimals", "values", "lrs"}.
- reference: a model of the reference code's whole schedule over a training
  run: its additive LinearWarmup and ReduceLROnPlateau stepped by one
  scheduler.step() per iteration (warm-up first, then the plateau when
  (it + 1) % steps_per_epoch == 0, on the latest validation value, 0 before
  the first), validation every val_interval iterations, plus the paper's end
  rule that featreuse adds: after an epoch, once warm-up is over, stop when
  the rate is below min_lr. Each case lists the rate every step used and the
  steps done: {"lr", "warmup_iters", "warmup_start_lr", "steps_per_epoch",
  "val_interval", "epochs", "min_lr", "factor", "patience", "threshold",
  "decimals", "values", "lrs", "steps"}.
"""
import json
import re
import warnings

import torch

warnings.filterwarnings("ignore", message=re.escape("Detected call of `lr_scheduler.step()` before"))


class LinearWarmup(torch.optim.lr_scheduler._LRScheduler):
    """The reference's warm-up: the groups start at eta_min, construction runs
    step() once, and every call up to warmup_iters adds (max_lr - eta_min) /
    warmup_iters to the *current* rate; later calls leave it alone."""

    def __init__(self, optimizer, warmup_iters, eta_min, max_lr):
        self.warmup_iters = warmup_iters
        self.delta = (max_lr - eta_min) / warmup_iters
        for group in optimizer.param_groups:
            group["lr"] = eta_min
        super().__init__(optimizer)

    def get_lr(self):
        add = self.delta if self.last_epoch <= self.warmup_iters else 0.0
        return [group["lr"] + add for group in self.optimizer.param_groups]


def optimizer(lr):
    return torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def plateau_cases():
    cases = []
    sequences = [
        [0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7],
        [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1],
        [0.1, 0.10001, 0.100015, 0.10002, 0.2, 0.2, 0.2, 0.2, 0.2],
        [-0.5, -0.4, -0.4, -0.4, -0.4, -0.4, -0.4],
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        # Gains in the 4th decimal: improvements unrounded, none at 3 decimals.
        [0.62 + 0.0001 * i + 0.00002 for i in range(12)],
    ]
    for values in sequences:
        for factor, patience, threshold in [(0.1, 3, 1e-4), (0.5, 1, 0.0), (0.1, 0, 1e-2)]:
            for decimals in (3, 15):
                opt = optimizer(1e-4)
                sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
                    opt, mode="max", factor=factor, patience=patience, threshold=threshold)
                lrs = []
                for v in values:
                    sched.step(round(v, decimals))
                    lrs.append(opt.param_groups[0]["lr"])
                cases.append({"lr": 1e-4, "factor": factor, "patience": patience, "threshold": threshold,
                              "decimals": decimals, "values": values, "lrs": lrs})
    return cases


def reference_run(c):
    opt = optimizer(c["lr"])
    warmup = LinearWarmup(opt, c["warmup_iters"], c["warmup_start_lr"], c["lr"])
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, mode="max", factor=c["factor"], patience=c["patience"], threshold=c["threshold"])
    spe, latest, validations, lrs = c["steps_per_epoch"], 0.0, iter(c["values"]), []
    for it in range(1, c["epochs"] * spe + 1):
        lrs.append(opt.param_groups[0]["lr"])
        # optimizer.step() happened; then the reference's scheduler.step(val_target).
        warmup.step()
        if (it + 1) % spe == 0:
            plateau.step(round(latest, c["decimals"]))
        if it % c["val_interval"] == 0:
            latest = next(validations)
        end_of_epoch = it % spe == 0
        if end_of_epoch and it >= c["warmup_iters"] and opt.param_groups[0]["lr"] < c["min_lr"] * (1 - 1e-9):
            break
    return dict(c, lrs=lrs, steps=len(lrs))


def reference_cases():
    # Saturating, with gains in the 4th decimal that count only unrounded.
    saturating = [0.3, 0.5, 0.6, 0.62] + [0.62 + 0.0001 * i + 0.00002 for i in range(1, 400)]
    flat = [0.3, 0.5, 0.6] + [0.62] * 400
    base = {"lr": 1e-4, "warmup_start_lr": 1e-8, "min_lr": 1e-6, "factor": 0.1, "patience": 3,
            "threshold": 1e-4, "decimals": 3, "values": saturating}
    shapes = [
        # A small training set: 3 steps per epoch, warm-up over 10 epochs with
        # reductions inside it, the stop only after it.
        {"warmup_iters": 30, "steps_per_epoch": 3, "val_interval": 1, "epochs": 60, "values": flat},
        # APTOS-like: 40 steps per epoch, validation every half epoch, the paper's 1000 warm-up steps.
        {"warmup_iters": 1000, "steps_per_epoch": 40, "val_interval": 20, "epochs": 60},
        # Warm-up shorter than an epoch.
        {"warmup_iters": 5, "steps_per_epoch": 8, "val_interval": 4, "epochs": 40},
    ]
    cases = [reference_run(dict(base, **shape)) for shape in shapes]
    # Without rounding the 4th-decimal gains keep the rate up: the run is longer.
    cases.append(reference_run(dict(base, decimals=15, **shapes[2])))
    return cases


print(json.dumps({"plateau": plateau_cases(), "reference": reference_cases()}))
