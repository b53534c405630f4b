#!/usr/bin/python3
"""Independent references for featreuse's analysis kernels, on seeded random data.

Prints JSON {"knn": [...], "cka": [...], "frechet": [...]} with each case's
inputs and expected outputs:
- knn: brute-force weighted k-NN over every bank row (numpy): cosine
  similarity of L2-normalised rows, the k largest, w = exp(s / T), score =
  sum(w * y) / sum(w) for one-hot (single-label) or multi-hot labels.
- cka: Kornblith et al.'s linear CKA with center_gram(unbiased=True) on
  each batch (the reference's estimator is their mean) and on all rows;
  the minibatch estimator of Nguyen et al. from Song et al.'s explicit
  unbiased HSIC formula, summed over batches.
- frechet: pytorch-fid's formula with scipy.linalg.sqrtm.
- moments: FID statistics as pytorch-fid takes them, np.mean and np.cov
  (rowvar=False) of all feature rows, with the batch sizes to feed them in.
"""
import json

import numpy as np
import scipy.linalg

rng = np.random.default_rng(20221129)


def knn_scores(bank, labels, queries, k, temperature):
    b = bank / np.linalg.norm(bank, axis=1, keepdims=True)
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    sim = q @ b.T
    out = []
    for row in sim:
        top = np.argsort(-row)[:k]
        w = np.exp(row[top] / temperature)
        out.append((w[:, None] * labels[top]).sum(0) / w.sum())
    return np.array(out)


def knn_cases():
    cases = []
    for multi in (False, True):
        n, d, c = 300, 16, 5
        bank = rng.normal(size=(n, d))
        queries = rng.normal(size=(40, d))
        if multi:
            labels = (rng.random((n, c)) < 0.3).astype(np.float64)
            targets = labels
        else:
            labels = rng.integers(0, c, size=n)
            targets = np.eye(c)[labels]
        for k in (1, 20, 500):
            cases.append({"bank": bank.tolist(), "labels": labels.tolist(), "queries": queries.tolist(),
                          "classes": c, "multi": multi, "k": k, "temperature": 0.1,
                          "scores": knn_scores(bank, targets, queries, min(k, n), 0.1).tolist()})
    return cases


def center_gram(gram):  # Kornblith et al., unbiased=True
    gram = gram.copy()
    n = gram.shape[0]
    np.fill_diagonal(gram, 0)
    means = np.sum(gram, 0, dtype=np.float64) / (n - 2)
    means -= np.sum(means) / (2 * (n - 1))
    gram -= means[:, None]
    gram -= means[None, :]
    np.fill_diagonal(gram, 0)
    return gram


def cka(x, y):
    gx, gy = center_gram(x @ x.T), center_gram(y @ y.T)
    return gx.ravel().dot(gy.ravel()) / (np.linalg.norm(gx) * np.linalg.norm(gy))


def hsic1(k, l):  # Song et al. 2012, the unbiased HSIC estimator
    n = k.shape[0]
    k, l = k.copy(), l.copy()
    np.fill_diagonal(k, 0)
    np.fill_diagonal(l, 0)
    one = np.ones(n)
    term = np.trace(k @ l) + (one @ k @ one) * (one @ l @ one) / ((n - 1) * (n - 2)) - 2 / (n - 2) * (one @ k @ l @ one)
    return term / (n * (n - 3))


def cka_cases():
    cases = []
    for batch in (10, 16):
        n = 48
        x = rng.normal(size=(n, 12))
        y = np.tanh(x @ rng.normal(size=(12, 7))) + 0.5 * rng.normal(size=(n, 7))
        batches = [(s, min(s + batch, n)) for s in range(0, n, batch)]
        batches = [b for b in batches if b[1] - b[0] >= 4]
        per_batch = [cka(x[a:b], y[a:b]) for a, b in batches]
        xy = sum(hsic1(x[a:b] @ x[a:b].T, y[a:b] @ y[a:b].T) for a, b in batches)
        xx = sum(hsic1(x[a:b] @ x[a:b].T, x[a:b] @ x[a:b].T) for a, b in batches)
        yy = sum(hsic1(y[a:b] @ y[a:b].T, y[a:b] @ y[a:b].T) for a, b in batches)
        cases.append({"x": x.tolist(), "y": y.tolist(), "batches": batches, "full": cka(x, y),
                      "reference": float(np.mean(per_batch)), "minibatch": xy / np.sqrt(xx * yy),
                      "hsic_xy_first": hsic1(x[:batches[0][1]] @ x[:batches[0][1]].T,
                                             y[:batches[0][1]] @ y[:batches[0][1]].T)})
    return cases


def cka_matrix_cases():
    # Row activations against column activations of the same inputs, batch by batch.
    n, batch = 40, 10
    xs = [rng.normal(size=(n, d)) for d in (5, 9, 3)]
    ys = [np.tanh(xs[0] @ rng.normal(size=(5, 6))) + 0.3 * rng.normal(size=(n, 6)), rng.normal(size=(n, 4))]
    batches = [(s, s + batch) for s in range(0, n, batch)]
    reference = [[float(np.mean([cka(x[a:b], y[a:b]) for a, b in batches])) for y in ys] for x in xs]

    def summed(u, v):
        return sum(hsic1(u[a:b] @ u[a:b].T, v[a:b] @ v[a:b].T) for a, b in batches)
    minibatch = [[summed(x, y) / np.sqrt(summed(x, x) * summed(y, y)) for y in ys] for x in xs]
    return {"xs": [x.tolist() for x in xs], "ys": [y.tolist() for y in ys], "batch": batch,
            "reference": reference, "minibatch": minibatch}


def frechet(mu1, sigma1, mu2, sigma2):  # pytorch-fid's calculate_frechet_distance
    diff = mu1 - mu2
    covmean, _ = scipy.linalg.sqrtm(sigma1.dot(sigma2), disp=False)
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    return diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean)


def frechet_cases():
    cases = []
    for d in (3, 16, 64):
        a, b = rng.normal(size=(d, 2 * d)), rng.normal(size=(d, 2 * d))
        s1, s2 = a @ a.T / (2 * d), b @ b.T / (2 * d)
        m1, m2 = rng.normal(size=d), rng.normal(size=d)
        cases.append({"mu1": m1.tolist(), "sigma1": s1.tolist(), "mu2": m2.tolist(), "sigma2": s2.tolist(),
                      "distance": float(frechet(m1, s1, m2, s2))})
    return cases


def moments_cases():
    cases = []
    for batches, d in (([7, 1, 15], 5), ([2], 3), ([40, 40, 3], 12)):
        x = rng.normal(loc=100.0, scale=2.0, size=(sum(batches), d))  # a large mean: cancellation shows
        cases.append({"features": x.tolist(), "batches": batches, "mu": np.mean(x, axis=0).tolist(),
                      "sigma": np.cov(x, rowvar=False).tolist()})
    return cases


print(json.dumps({"knn": knn_cases(), "cka": cka_cases(), "cka_matrix": cka_matrix_cases(),
                  "frechet": frechet_cases(), "moments": moments_cases()}))
