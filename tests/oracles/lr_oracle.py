#!/usr/bin/python3
"""Learning rates from PyTorch's ReduceLROnPlateau (mode max, relative threshold)
for sequences of validation values: the oracle for featreuse's LrSchedule.
Prints JSON: [{"lr", "factor", "patience", "threshold", "values", "lrs"}]."""
import json

import torch

cases = []
sequences = [
    [0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7],
    [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1],
    [0.1, 0.10001, 0.100015, 0.10002, 0.2, 0.2, 0.2, 0.2, 0.2],
    [-0.5, -0.4, -0.4, -0.4, -0.4, -0.4, -0.4],
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
]
for values in sequences:
    for factor, patience, threshold in [(0.1, 3, 1e-4), (0.5, 1, 0.0), (0.1, 0, 1e-2)]:
        param = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.Adam([param], lr=1e-4)
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=factor, patience=patience,
                                                           threshold=threshold)
        lrs = []
        for v in values:
            sched.step(v)
            lrs.append(opt.param_groups[0]["lr"])
        cases.append({"lr": 1e-4, "factor": factor, "patience": patience, "threshold": threshold,
                      "values": values, "lrs": lrs})
print(json.dumps(cases))
