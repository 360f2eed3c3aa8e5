#!/usr/bin/env python3
"""A small conv2d network for scikit-learn's 8x8 digits, trained in numpy.

    pixels [8, 8, 1]  -> conv2d 3x3, 6 filters, "same", bias -> relu
                      -> maxpool2d 2x2 -> flatten (96) -> dense 10 -> argmax

Training is float, numpy only (im2col, written-out gradients, Adam); the
fixed-point types are chosen afterwards from the trained values. Seeds are
fixed, so the files are reproducible with the same numpy and scikit-learn.

    python3 examples/conv_digits/train.py

writes model.json, x_test.csv and y_test.csv next to this script.
"""
import json
import os
from pathlib import Path

# one BLAS thread: the same sums in the same order on every machine
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

HERE = Path(__file__).resolve().parent
FILTERS, EPOCHS, BATCH, LR = 6, 40, 64, 3e-3
WEIGHT_BITS = 6


def patches(x):
    """im2col of x [n, 8, 8] with 'same' padding: [n, 64, 9]."""
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    return np.stack([xp[:, i:i + 8, j:j + 8] for i in range(3) for j in range(3)], -1).reshape(
        len(x), 64, 9)


def forward(p, x):
    cols = patches(x)
    z = cols @ p["k"].T + p["kb"]  # [n, 64, F]
    a = np.maximum(z, 0).reshape(len(x), 4, 2, 4, 2, FILTERS)
    pooled = a.max(axis=(2, 4))  # [n, 4, 4, F]
    flat = pooled.reshape(len(x), -1)
    logits = flat @ p["w"].T + p["b"]
    return logits, (cols, z, a, pooled, flat)


def backward(p, cache, dlogits):
    cols, z, a, pooled, flat = cache
    n = len(dlogits)
    g = {"w": dlogits.T @ flat, "b": dlogits.sum(0)}
    dpool = (dlogits @ p["w"]).reshape(pooled.shape)
    # the gradient goes to each window's largest element (the first on a tie)
    win = a.transpose(0, 1, 3, 2, 4, 5).reshape(n, 4, 4, 4, FILTERS)
    first = win.argmax(axis=3)
    da = np.zeros_like(win)
    idx = np.indices(first.shape)
    da[idx[0], idx[1], idx[2], first, idx[3]] = dpool
    da = da.reshape(n, 4, 4, 2, 2, FILTERS).transpose(0, 1, 3, 2, 4, 5).reshape(z.shape)
    dz = da * (z > 0)
    g["k"] = np.einsum("npf,npt->ft", dz, cols)
    g["kb"] = dz.sum((0, 1))
    return g


def train(p, x, y, rng):
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(v) for k, v in p.items()}
    t = 0
    onehot = np.eye(10)[y]
    for epoch in range(EPOCHS):
        order = rng.permutation(len(x))
        for i in range(0, len(x), BATCH):
            idx = order[i:i + BATCH]
            logits, cache = forward(p, x[idx])
            e = np.exp(logits - logits.max(1, keepdims=True))
            prob = e / e.sum(1, keepdims=True)
            grads = backward(p, cache, (prob - onehot[idx]) / len(idx))
            t += 1
            for k, gk in grads.items():
                m[k] = 0.9 * m[k] + 0.1 * gk
                v[k] = 0.999 * v[k] + 0.001 * gk * gk
                p[k] -= LR * (m[k] / (1 - 0.9**t)) / (np.sqrt(v[k] / (1 - 0.999**t)) + 1e-8)


def ftype(values, width):
    top = max(np.abs(values).max(), 2.0**-8)
    return f"fixed<{width},{int(np.floor(np.log2(top))) + 2},rnd,sat>"


def export(p):
    k = p["k"].reshape(FILTERS, 3, 3, 1)  # [filters][kh][kw][channels]
    # the flatten of [4, 4, F] is row-major, channels last, as numpy's
    return {
        "format": "neurtl-model", "version": 1, "name": "conv_digits",
        "_comment": "made by examples/conv_digits/train.py; pixels 0..16 scaled by 1/16",
        "inputs": [{"name": "pixels", "shape": [8, 8, 1], "type": "ufixed<5,1>"}],
        "layers": [
            {"name": "conv", "op": "conv2d", "input": "pixels", "filters": FILTERS,
             "kernel_size": 3, "padding": "same", "weights": k.tolist(),
             "bias": p["kb"].tolist(), "weight_type": ftype(k, WEIGHT_BITS),
             "bias_type": ftype(p["kb"], 8)},
            {"name": "relu", "op": "relu", "input": "conv", "output_type": "ufixed<8,3,trn,sat>"},
            {"name": "pool", "op": "maxpool2d", "input": "relu", "kernel_size": 2},
            {"name": "flat", "op": "flatten", "input": "pool"},
            {"name": "logits", "op": "dense", "input": "flat", "units": 10,
             "weights": p["w"].tolist(), "bias": p["b"].tolist(),
             "weight_type": ftype(p["w"], WEIGHT_BITS), "bias_type": ftype(p["b"], 8)},
            {"name": "digit", "op": "argmax", "input": "logits"},
        ],
        "outputs": ["logits", "digit"],
    }


def main():
    d = load_digits()
    x = d.images / 16.0  # on the ufixed<5,1> grid: multiples of 1/16 in [0, 1]
    x_train, x_test, y_train, y_test = train_test_split(
        x, d.target, test_size=450, random_state=0, stratify=d.target)
    rng = np.random.default_rng(8)
    p = {"k": rng.normal(0, 0.3, (FILTERS, 9)), "kb": np.zeros(FILTERS),
         "w": rng.normal(0, 0.1, (10, 16 * FILTERS)), "b": np.zeros(10)}
    train(p, x_train, y_train, rng)
    acc = (forward(p, x_test)[0].argmax(1) == y_test).mean()
    print(f"float accuracy on the test set: {100 * acc:.2f}%")
    (HERE / "model.json").write_text(json.dumps(export(p)) + "\n")
    np.savetxt(HERE / "x_test.csv", x_test.reshape(len(x_test), -1), fmt="%.4f", delimiter=",")
    np.savetxt(HERE / "y_test.csv", y_test, fmt="%d")


if __name__ == "__main__":
    main()
