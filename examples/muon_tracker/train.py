#!/usr/bin/env python3
"""Simulate a muon chamber, train the tracking network, write model.json.

The chamber: 7 gas gaps of 50 channels, 19 mm each, in three stations
(M1: gaps 0-2, M2: gaps 3-4, M3: gaps 5-6) along z. A muon is a straight
line x(z) = x0 + tan(theta) z; each gap it crosses inside the chamber
fires the channel under it with probability EFFICIENCY, and every channel
of every gap fires on its own with probability NOISE. The network sees
the 50 x 7 hit map and predicts theta in mrad.

The network has the shape of the fast muon-tracking trigger: per station a
one-filter Conv1D (kernel 3, "same", no bias); hardtanh(M1) through a
50->50 dense layer masked to a band of channels, added to the M2 conv,
through hardtanh; another banded layer from that, added to a banded layer
from hardtanh(M1) and to the M3 conv, through hardtanh; then Dense +
BatchNorm + ReLU 32-16-8 and Dense(1). The activation is the quantized
variant's saturating hard tanh.

Training is numpy only (written-out gradients, Adam), in float; the
fixed-point types are chosen afterwards from the trained values. Seeds
are fixed and the files are reproducible with the same numpy version.

    python3 examples/muon_tracker/train.py

writes model.json, x_test.csv and theta_test.csv next to this script.
"""
import json
import os
from pathlib import Path

# one BLAS thread: the same sums in the same order on every machine
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
CHANNELS, GAPS, PITCH = 50, 7, 19.0  # mm
# gap positions along the beam (mm): three stations of 3, 2 and 2 gaps
Z = np.array([0.0, 30.0, 60.0, 1500.0, 1530.0, 3000.0, 3030.0])
STATIONS = [(0, 3), (3, 5), (5, 7)]
EFFICIENCY, NOISE = 0.95, 0.01
THETA_MAX = 60.0  # mrad
# the banded masks: an M1 feature reaches M2 (about 1.5 m on) within
# +-5 channels at the largest angle, M3 (about 3 m) within +-10
BAND_12, BAND_23, BAND_13 = 5, 5, 10
N_TRAIN, N_TEST = 60000, 1000
EPOCHS, BATCH, LR = 60, 256, 3e-3
SCALE = 50.0  # the network learns theta / SCALE
WEIGHT_BITS = 6
RELU = "ufixed<8,3,trn,sat>"


def simulate(n, rng):
    """n events: hit maps [n, 50, 7] of 0/1 and their angles in mrad."""
    theta = rng.uniform(-THETA_MAX, THETA_MAX, n)
    x0 = rng.uniform(0.15, 0.85, n) * CHANNELS * PITCH
    x = x0[:, None] + np.tan(theta[:, None] * 1e-3) * Z[None, :]
    ch = np.floor(x / PITCH).astype(int)
    hits = np.zeros((n, CHANNELS, GAPS))
    fired = (ch >= 0) & (ch < CHANNELS) & (rng.random((n, GAPS)) < EFFICIENCY)
    ev, gap = np.nonzero(fired)
    hits[ev, ch[ev, gap], gap] = 1.0
    hits[rng.random(hits.shape) < NOISE] = 1.0
    return hits, theta


def band(width):
    i = np.arange(CHANNELS)
    return (np.abs(i[:, None] - i[None, :]) <= width).astype(float)


MASKS = {"d12": band(BAND_12), "d23": band(BAND_23), "d13": band(BAND_13)}
MLP = [CHANNELS, 32, 16, 8]


def init(rng):
    p = {}
    for s, (a, b) in enumerate(STATIONS):
        p[f"k{s}"] = rng.normal(0, 0.5, (3, b - a))
    for k, m in MASKS.items():
        p[k] = rng.normal(0, 0.3, (CHANNELS, CHANNELS)) * m
        p[k + "_b"] = np.zeros(CHANNELS)
    for i in range(3):
        p[f"w{i}"] = rng.normal(0, np.sqrt(2 / MLP[i]), (MLP[i + 1], MLP[i]))
        p[f"b{i}"] = np.zeros(MLP[i + 1])
        p[f"g{i}"] = np.ones(MLP[i + 1])
        p[f"beta{i}"] = np.zeros(MLP[i + 1])
    p["w3"] = rng.normal(0, np.sqrt(1 / 8), (1, 8))
    p["b3"] = np.zeros(1)
    return p


def conv(x, k):
    """'same' conv1d of x [n, 50, c] with one filter k [3, c] -> [n, 50]."""
    xp = np.pad(x, ((0, 0), (1, 1), (0, 0)))
    return sum(xp[:, t:t + CHANNELS, :] @ k[t] for t in range(3))


def conv_grad(x, g):
    xp = np.pad(x, ((0, 0), (1, 1), (0, 0)))
    return np.stack([np.einsum("nic,ni->c", xp[:, t:t + CHANNELS, :], g) for t in range(3)])


def forward(p, x, bn_state, train):
    """The network; returns theta / SCALE and what backward needs."""
    c = [conv(x[:, :, a:b], p[f"k{s}"]) for s, (a, b) in enumerate(STATIONS)]
    z1 = c[0]
    a1 = np.clip(z1, -1, 1)
    z2 = a1 @ p["d12"].T + p["d12_b"] + c[1]
    a2 = np.clip(z2, -1, 1)
    z3 = a2 @ p["d23"].T + p["d23_b"] + a1 @ p["d13"].T + p["d13_b"] + c[2]
    h = np.clip(z3, -1, 1)
    cache = {"z": (z1, z2, z3), "a": (a1, a2, h), "mlp": []}
    for i in range(3):
        u = h @ p[f"w{i}"].T + p[f"b{i}"]
        if train:
            mu, var = u.mean(0), u.var(0)
            m, v = bn_state[i]
            bn_state[i] = (0.9 * m + 0.1 * mu, 0.9 * v + 0.1 * var)
        else:
            mu, var = bn_state[i]
        std = np.sqrt(var + 1e-3)
        uh = (u - mu) / std
        o = p[f"g{i}"] * uh + p[f"beta{i}"]
        cache["mlp"].append((h, uh, std, o))
        h = np.maximum(o, 0)
    y = h @ p["w3"].T + p["b3"]
    cache["last"] = h
    return y[:, 0], cache


def backward(p, x, cache, dy):
    g = {}
    h = cache["last"]
    g["w3"] = dy[:, None].T @ h
    g["b3"] = np.array([dy.sum()])
    dh = dy[:, None] @ p["w3"]
    for i in reversed(range(3)):
        hin, uh, std, o = cache["mlp"][i]
        do = dh * (o > 0)
        g[f"g{i}"] = (do * uh).sum(0)
        g[f"beta{i}"] = do.sum(0)
        duh = do * p[f"g{i}"]
        n = len(duh)
        du = (n * duh - duh.sum(0) - uh * (duh * uh).sum(0)) / (n * std)
        g[f"w{i}"] = du.T @ hin
        g[f"b{i}"] = du.sum(0)
        dh = du @ p[f"w{i}"]
    z1, z2, z3 = cache["z"]
    a1, a2, _ = cache["a"]
    dz3 = dh * (np.abs(z3) < 1)
    g["d23"] = (dz3.T @ a2) * MASKS["d23"]
    g["d23_b"] = dz3.sum(0)
    g["d13"] = (dz3.T @ a1) * MASKS["d13"]
    g["d13_b"] = dz3.sum(0)
    dz2 = (dz3 @ p["d23"]) * (np.abs(z2) < 1)
    g["d12"] = (dz2.T @ a1) * MASKS["d12"]
    g["d12_b"] = dz2.sum(0)
    dz1 = (dz2 @ p["d12"] + dz3 @ p["d13"]) * (np.abs(z1) < 1)
    for s, (dz, (a, b)) in enumerate(zip((dz1, dz2, dz3), STATIONS)):
        g[f"k{s}"] = conv_grad(x[:, :, a:b], dz)
    return g


def train(p, x, theta, rng):
    bn = [(np.zeros(m), np.ones(m)) for m in MLP[1:]]
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(v) for k, v in p.items()}
    t = 0
    for epoch in range(EPOCHS):
        lr = LR * (0.5 ** (epoch // 15))
        order = rng.permutation(len(x))
        for i in range(0, len(x) - BATCH + 1, BATCH):
            idx = order[i:i + BATCH]
            y, cache = forward(p, x[idx], bn, True)
            dy = 2 * (y - theta[idx] / SCALE) / BATCH
            grads = backward(p, x[idx], cache, dy)
            t += 1
            for k, gk in grads.items():
                m[k] = 0.9 * m[k] + 0.1 * gk
                v[k] = 0.999 * v[k] + 0.001 * gk * gk
                p[k] -= lr * (m[k] / (1 - 0.9**t)) / (np.sqrt(v[k] / (1 - 0.999**t)) + 1e-8)
        for k in MASKS:
            p[k] *= MASKS[k]
    return bn


def resolution(pred, theta):
    d = pred - theta
    core = d[np.abs(d) < 30]
    return np.sqrt(np.mean(core**2)), len(core)


def ftype(values, width, rounding="rnd,sat"):
    """fixed<width, I> with the fewest integer bits that hold the values."""
    top = max(np.abs(values).max(), 2.0**-8)
    i = int(np.floor(np.log2(top))) + 2
    return f"fixed<{width},{i},{rounding}>"


def dense(name, src, w, b, wt_width=WEIGHT_BITS):
    layer = {"name": name, "op": "dense", "input": src, "units": int(w.shape[0]),
             "weights": w.tolist(), "bias": b.tolist(),
             "weight_type": ftype(w, wt_width), "bias_type": ftype(b, 10)}
    return layer


def export(p, bn):
    act = "fixed<7,1,trn,sat>"  # the hard tanh: [-1, 1) on 6 fractional bits
    layers = []
    for s, (a, b) in enumerate(STATIONS):
        layers.append({"name": f"m{s + 1}", "op": "slice", "input": "hits", "axis": -1,
                       "start": a, "end": b})
        k = p[f"k{s}"]
        layers.append({"name": f"conv{s + 1}", "op": "conv1d", "input": f"m{s + 1}",
                       "filters": 1, "kernel_size": 3, "padding": "same",
                       "weights": [k.tolist()], "weight_type": ftype(k, WEIGHT_BITS)})
        layers.append({"name": f"flat{s + 1}", "op": "flatten", "input": f"conv{s + 1}"})
    layers.append({"name": "t1", "op": "hard_tanh", "input": "flat1", "output_type": act})
    layers.append(dense("band12", "t1", p["d12"], p["d12_b"]))
    layers.append({"name": "s2", "op": "add", "inputs": ["band12", "flat2"]})
    layers.append({"name": "t2", "op": "hard_tanh", "input": "s2", "output_type": act})
    layers.append(dense("band23", "t2", p["d23"], p["d23_b"]))
    layers.append(dense("band13", "t1", p["d13"], p["d13_b"]))
    layers.append({"name": "s3a", "op": "add", "inputs": ["band23", "band13"]})
    layers.append({"name": "s3", "op": "add", "inputs": ["s3a", "flat3"]})
    layers.append({"name": "t3", "op": "hard_tanh", "input": "s3", "output_type": act})
    src = "t3"
    for i in range(3):
        mu, var = bn[i]
        # the folded weights are what gets quantized: size the types by them
        s = p[f"g{i}"] / np.sqrt(var + 1e-3)
        wf, bf = p[f"w{i}"] * s[:, None], (p[f"b{i}"] - mu) * s + p[f"beta{i}"]
        d = dense(f"fc{i + 1}", src, p[f"w{i}"], p[f"b{i}"])
        d["weight_type"], d["bias_type"] = ftype(wf, WEIGHT_BITS), ftype(bf, 10)
        layers.append(d)
        layers.append({"name": f"bn{i + 1}", "op": "batchnorm", "input": f"fc{i + 1}",
                       "gamma": p[f"g{i}"].tolist(), "beta": p[f"beta{i}"].tolist(),
                       "mean": mu.tolist(), "var": var.tolist(), "epsilon": 1e-3})
        layers.append({"name": f"relu{i + 1}", "op": "relu", "input": f"bn{i + 1}",
                       "output_type": RELU})
        src = f"relu{i + 1}"
    w, b = p["w3"] * SCALE, p["b3"] * SCALE
    out = dense("theta", src, w, b, 8)
    out["output_type"] = "fixed<14,8,trn,sat>"
    layers.append(out)
    return {
        "format": "neurtl-model", "version": 1, "name": "muon_tracker",
        "_comment": "made by examples/muon_tracker/train.py; theta in mrad",
        "inputs": [{"name": "hits", "shape": [CHANNELS, GAPS], "type": "ufixed<1,1>"}],
        "layers": layers,
        "outputs": ["theta"],
    }


def main():
    rng = np.random.default_rng(2026)
    x_train, th_train = simulate(N_TRAIN, rng)
    x_test, th_test = simulate(N_TEST, rng)
    p = init(rng)
    bn = train(p, x_train, th_train, rng)
    pred, _ = forward(p, x_test, bn, False)
    rms, kept = resolution(pred * SCALE, th_test)
    print(f"float resolution on the test set: {rms:.2f} mrad ({kept} of {N_TEST} within 30 mrad)")
    (HERE / "model.json").write_text(json.dumps(export(p, bn)) + "\n")
    np.savetxt(HERE / "x_test.csv", x_test.reshape(N_TEST, -1), fmt="%d", delimiter=",")
    np.savetxt(HERE / "theta_test.csv", th_test, fmt="%.6f")


if __name__ == "__main__":
    main()
