#!/usr/bin/python3
"""The reference's layer-wise k-NN (DINO's weighted k-NN classifier, which the paper's code uses) in
PyTorch on a synthetic bank: time and peak resident memory, for benchmarks/knn.sh.

Usage: knn_reference.py BANK DIM QUERIES CLASSES K
"""
import json
import resource
import sys
import time

import torch


def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def dino_knn(bank, bank_labels, queries, k, temperature, classes, chunks=100):
    # DINO's loop: test features in 100 chunks, each against the whole (transposed) bank.
    bank_t = bank.t()
    per_chunk = max(1, queries.shape[0] // chunks)
    one_hot = torch.zeros(k, classes)
    out = []
    for start in range(0, queries.shape[0], per_chunk):
        q = queries[start:start + per_chunk]
        similarity = q @ bank_t
        distances, indices = similarity.topk(k, largest=True, sorted=True)
        neighbours = torch.gather(bank_labels.view(1, -1).expand(q.shape[0], -1), 1, indices)
        one_hot.resize_(q.shape[0] * k, classes).zero_()
        one_hot.scatter_(1, neighbours.view(-1, 1), 1)
        weights = distances.clone().div_(temperature).exp_()
        out.append((one_hot.view(q.shape[0], -1, classes) * weights.view(q.shape[0], -1, 1)).sum(1))
    return torch.cat(out)


def main():
    bank_rows, dim, queries, classes, k = (int(a) for a in sys.argv[1:6])
    torch.set_num_threads(1)
    torch.manual_seed(0)
    start = peak_mib()
    bank = torch.nn.functional.normalize(torch.randn(bank_rows, dim), dim=1)
    labels = torch.randint(0, classes, (bank_rows,))
    query = torch.nn.functional.normalize(torch.randn(queries, dim), dim=1)
    inputs = peak_mib()
    clock = time.perf_counter()
    scores = dino_knn(bank, labels, query, k, 0.1, classes)
    seconds = time.perf_counter() - clock
    print(json.dumps({"bank": bank_rows, "dim": dim, "queries": queries, "k": k, "seconds": round(seconds, 3),
                      "peak_rss_mib": round(peak_mib(), 1), "inputs_mib": round(inputs - start, 1),
                      "start_mib": round(start, 1), "score_sum": float(scores.sum())}))


if __name__ == "__main__":
    main()
