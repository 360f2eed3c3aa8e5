#!/usr/bin/env python3
"""Train a binarized 64-128-64-10 MLP on scikit-learn's 8x8 digits and export it for neurtl.

Network (as exported):
  pixels (64 x uint<5>, raw values 0..16)
  -> fc1: dense 128, bipolar (+1/-1) weights, no bias
  -> bn1: batchnorm -> sign1: sign (+1 if x >= 0 else -1)
  -> fc2: dense 64, bipolar weights, no bias
  -> bn2: batchnorm -> sign2: sign
  -> fc3: dense 10, bipolar weights, bias on the 0.25 grid (fixed<10,8>)
  -> digit: argmax (lowest index wins ties)

Training: numpy only, straight-through estimator. Real-valued latent weights
are clipped to [-1, 1] and sign(w) (sign(0) = +1) is used in the forward pass;
the sign activation passes the gradient where |x| <= 1. Batchnorm runs in
training mode on batch statistics and keeps running averages (momentum 0.1),
which are what gets exported. The fc3 logits are multiplied by a learnable
positive scale for the softmax cross-entropy loss; argmax ignores a positive
scale, so it is not exported. Optimizer: Adam.

The exported model is then checked by an independent numpy re-implementation
of exactly the exported semantics (integer sums, batchnorm + sign decided
exactly, rounded bias), and its test accuracy is asserted.

Outputs (written next to this script, whatever the current directory is):
  model.json  - neurtl model JSON v1
  x_test.csv  - 450 test rows, 64 comma-separated integer pixels 0..16
  y_test.csv  - one integer label 0..9 per line

Requirements: Python 3, numpy, scikit-learn (no downloads: the digits data set
ships with scikit-learn).
"""

import json
import os
import time
from fractions import Fraction

# Keep BLAS single-threaded so that floating-point reductions happen in a fixed
# order; this must be set before numpy is imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

OUT_DIR = os.path.dirname(os.path.abspath(__file__))

SEED = 0
HIDDEN = (128, 64)
N_CLASSES = 10
EPS = 1e-5            # batchnorm epsilon (training and export)
MOMENTUM = 0.1        # batchnorm running-average momentum
EPOCHS = 300
BATCH = 64
LR_START = 1e-2       # Adam learning rate, cosine-decayed to LR_END
LR_END = 1e-4
ADAM_B1, ADAM_B2, ADAM_EPS = 0.9, 0.999, 1e-8
BIAS_STEP = 0.25      # fixed<10,8> has 2 fractional bits
BIAS_MIN, BIAS_MAX = -128.0, 127.75
MIN_EXPORTED_ACC = 0.90


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------

def load_data():
    digits = load_digits()
    x = digits.data.astype(np.int64)      # 1797 x 64, integers 0..16
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, random_state=0, stratify=y)
    return x_train, y_train, x_test, y_test


# ---------------------------------------------------------------------------
# Training model
# ---------------------------------------------------------------------------

def bsign(a):
    """Bipolar sign: +1 for a >= 0 (so sign(0) = +1), else -1."""
    return np.where(a >= 0, 1.0, -1.0)


class Adam:
    def __init__(self, params):
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.t = 0

    def step(self, params, grads, lr):
        self.t += 1
        c1 = 1.0 - ADAM_B1 ** self.t
        c2 = 1.0 - ADAM_B2 ** self.t
        for k, g in grads.items():
            self.m[k] = ADAM_B1 * self.m[k] + (1.0 - ADAM_B1) * g
            self.v[k] = ADAM_B2 * self.v[k] + (1.0 - ADAM_B2) * g * g
            params[k] -= lr * (self.m[k] / c1) / (np.sqrt(self.v[k] / c2) + ADAM_EPS)


def init_params(rng):
    sizes = (64,) + HIDDEN + (N_CLASSES,)
    p = {}
    for k in range(3):
        p[f"W{k + 1}"] = rng.uniform(-1.0, 1.0, size=(sizes[k + 1], sizes[k]))
    for k in range(2):
        p[f"g{k + 1}"] = np.ones(HIDDEN[k])
        p[f"b{k + 1}"] = np.zeros(HIDDEN[k])
    p["b3"] = np.zeros(N_CLASSES)
    p["log_scale"] = np.array(np.log(1.0 / 8.0))
    return p


def bn_train(z, gamma, beta, running, key):
    """Batchnorm forward in training mode; updates running[key] in place."""
    n = z.shape[0]
    mu = z.mean(axis=0)
    var = z.var(axis=0)
    inv = 1.0 / np.sqrt(var + EPS)
    xhat = (z - mu) * inv
    rm, rv = running[key]
    running[key] = ((1.0 - MOMENTUM) * rm + MOMENTUM * mu,
                    (1.0 - MOMENTUM) * rv + MOMENTUM * var * n / (n - 1))
    return gamma * xhat + beta, (xhat, inv)


def bn_backward(dy, gamma, cache):
    xhat, inv = cache
    n = dy.shape[0]
    dgamma = (dy * xhat).sum(axis=0)
    dbeta = dy.sum(axis=0)
    dxhat = dy * gamma
    dz = inv / n * (n * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0))
    return dz, dgamma, dbeta


def train_step(p, running, x, y):
    """One forward/backward pass on a batch; returns (loss, grads)."""
    W1b, W2b, W3b = bsign(p["W1"]), bsign(p["W2"]), bsign(p["W3"])
    z1 = x @ W1b.T
    y1, c1 = bn_train(z1, p["g1"], p["b1"], running, "bn1")
    s1 = bsign(y1)
    z2 = s1 @ W2b.T
    y2, c2 = bn_train(z2, p["g2"], p["b2"], running, "bn2")
    s2 = bsign(y2)
    z3 = s2 @ W3b.T + p["b3"]
    scale = np.exp(p["log_scale"])
    logits = scale * z3
    logits = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    prob = e / e.sum(axis=1, keepdims=True)
    n = x.shape[0]
    loss = -np.mean(np.log(prob[np.arange(n), y] + 1e-30))

    g = {}
    dlogits = prob
    dlogits[np.arange(n), y] -= 1.0
    dlogits /= n
    g["log_scale"] = np.array(np.sum(dlogits * z3) * scale)
    dz3 = dlogits * scale
    g["b3"] = dz3.sum(axis=0)
    g["W3"] = dz3.T @ s2                       # straight through sign(W3)
    ds2 = dz3 @ W3b
    dy2 = ds2 * (np.abs(y2) <= 1.0)            # STE for the sign activation
    dz2, g["g2"], g["b2"] = bn_backward(dy2, p["g2"], c2)
    g["W2"] = dz2.T @ s1
    ds1 = dz2 @ W2b
    dy1 = ds1 * (np.abs(y1) <= 1.0)
    dz1, g["g1"], g["b1"] = bn_backward(dy1, p["g1"], c1)
    g["W1"] = dz1.T @ x
    return loss, g


def predict_training_model(p, running, x):
    """The training model in inference mode: running statistics, float bias."""
    h = x.astype(np.float64)
    for k in (1, 2):
        z = h @ bsign(p[f"W{k}"]).T
        rm, rv = running[f"bn{k}"]
        h = bsign(p[f"g{k}"] * (z - rm) / np.sqrt(rv + EPS) + p[f"b{k}"])
    z3 = h @ bsign(p["W3"]).T + p["b3"]
    return np.argmax(z3, axis=1)


def train(x_train, y_train, rng):
    p = init_params(rng)
    running = {f"bn{k + 1}": (np.zeros(HIDDEN[k]), np.ones(HIDDEN[k])) for k in range(2)}
    opt = Adam(p)
    xf = x_train.astype(np.float64)
    n = len(xf)
    steps_per_epoch = (n + BATCH - 1) // BATCH
    total = EPOCHS * steps_per_epoch
    step = 0
    for epoch in range(EPOCHS):
        order = rng.permutation(n)
        losses = []
        for start in range(0, n, BATCH):
            idx = order[start:start + BATCH]
            if len(idx) < 2:
                continue
            lr = LR_END + 0.5 * (LR_START - LR_END) * (1.0 + np.cos(np.pi * step / total))
            loss, g = train_step(p, running, xf[idx], y_train[idx])
            opt.step(p, g, lr)
            for k in ("W1", "W2", "W3"):
                np.clip(p[k], -1.0, 1.0, out=p[k])
            losses.append(loss)
            step += 1
        if (epoch + 1) % 25 == 0 or epoch == 0:
            acc = np.mean(predict_training_model(p, running, x_train) == y_train)
            print(f"epoch {epoch + 1:3d}: loss {np.mean(losses):.4f}, "
                  f"train acc (inference mode) {acc:.4f}, "
                  f"logit scale {float(np.exp(p['log_scale'])):.4f}")
    return p, running


# ---------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------

def floats(a):
    """numpy array -> list of Python floats (json writes the shortest exact repr)."""
    return [float(v) for v in np.asarray(a, dtype=np.float64)]


def bipolar_rows(w):
    """Latent weights -> rows of Python ints +1/-1 (sign(0) = +1)."""
    return [[1 if v >= 0 else -1 for v in row] for row in w]


def build_model(p, running):
    bias = np.clip(np.round(p["b3"] / BIAS_STEP) * BIAS_STEP, BIAS_MIN, BIAS_MAX) + 0.0  # no -0.0
    layers = []
    prev = "pixels"
    for k in (1, 2):
        rm, rv = running[f"bn{k}"]
        layers += [
            {"name": f"fc{k}", "op": "dense", "input": prev, "units": HIDDEN[k - 1],
             "weights": bipolar_rows(p[f"W{k}"]), "weight_type": "bipolar"},
            {"name": f"bn{k}", "op": "batchnorm", "input": f"fc{k}",
             "gamma": floats(p[f"g{k}"]), "beta": floats(p[f"b{k}"]),
             "mean": floats(rm), "var": floats(rv), "epsilon": EPS},
            {"name": f"sign{k}", "op": "sign", "input": f"bn{k}"},
        ]
        prev = f"sign{k}"
    layers += [
        {"name": "fc3", "op": "dense", "input": prev, "units": N_CLASSES,
         "weights": bipolar_rows(p["W3"]), "weight_type": "bipolar",
         "bias": floats(bias), "bias_type": "fixed<10,8>"},
        {"name": "digit", "op": "argmax", "input": "fc3"},
    ]
    return {
        "format": "neurtl-model",
        "version": 1,
        "name": "bnn_digits",
        "inputs": [{"name": "pixels", "shape": [64], "type": "uint<5>"}],
        "layers": layers,
        "outputs": ["fc3", "digit"],
    }


def write_model(path, model):
    # One layer per line; still plain JSON written by json.dumps, and checked
    # by re-parsing below.
    head = {k: v for k, v in model.items() if k not in ("layers", "outputs")}
    parts = ["{"]
    for key, value in head.items():
        parts.append(f"{json.dumps(key)}: {json.dumps(value)},")
    parts.append('"layers": [')
    parts.append(",\n".join(json.dumps(layer) for layer in model["layers"]))
    parts.append("],")
    parts.append(f'"outputs": {json.dumps(model["outputs"])}')
    parts.append("}")
    text = "\n".join(parts) + "\n"
    assert json.loads(text) == model
    with open(path, "w", encoding="ascii") as f:
        f.write(text)


def write_csv(x_test, y_test):
    with open(os.path.join(OUT_DIR, "x_test.csv"), "w", encoding="ascii") as f:
        for row in x_test:
            f.write(",".join(str(int(v)) for v in row) + "\n")
    with open(os.path.join(OUT_DIR, "y_test.csv"), "w", encoding="ascii") as f:
        for label in y_test:
            f.write(f"{int(label)}\n")


# ---------------------------------------------------------------------------
# Independent check of the exported model (reads only the JSON dictionary)
# ---------------------------------------------------------------------------

def bn_sign_fires(h, gamma, beta, mean, var, eps):
    """Exactly: gamma*(h - mean)/sqrt(var + eps) + beta >= 0, in real arithmetic,
    with every float taken at its exact binary value. Multiplying by
    sqrt(var + eps) > 0 gives L + beta*sqrt(V) >= 0 with L = gamma*(h - mean)."""
    L = Fraction(gamma) * (Fraction(h) - Fraction(mean))
    B = Fraction(beta)
    V = Fraction(var) + Fraction(eps)
    if L >= 0 and B >= 0:
        return True
    if L <= 0 and B <= 0:
        return L == 0 and B == 0
    if L >= 0:                   # B < 0: L >= -B*sqrt(V)
        return L * L >= B * B * V
    return B * B * V >= L * L    # L < 0 < B: B*sqrt(V) >= -L


def exact_bn_sign(z, bn, lo, hi):
    """Per neuron, the exact +1/-1 output for integer sums z in [lo, hi].

    The predicate is monotone in h (increasing for gamma > 0, decreasing for
    gamma < 0, constant for gamma = 0), so one integer threshold per neuron
    decides it; it is found by binary search with the exact predicate."""
    out = np.empty(z.shape, dtype=np.int64)
    margins = []
    for j in range(z.shape[1]):
        g, b, m, v = bn["gamma"][j], bn["beta"][j], bn["mean"][j], bn["var"][j]
        e = bn["epsilon"]
        f = lambda h: bn_sign_fires(h, g, b, m, v, e)  # noqa: E731
        if g == 0:
            out[:, j] = 1 if b >= 0 else -1
            continue
        pred = f if g > 0 else (lambda h: not f(h))
        a, c = lo, hi + 1        # smallest h in [lo, hi+1] with pred(h)
        while a < c:
            mid = (a + c) // 2
            if pred(mid):
                c = mid
            else:
                a = mid + 1
        t = a
        if g > 0:
            out[:, j] = np.where(z[:, j] >= t, 1, -1)
        else:
            out[:, j] = np.where(z[:, j] >= t, -1, 1)
        # Distance of the real threshold mean - beta*sqrt(V)/gamma from the
        # nearest integer: how far a value could move before a decision flips.
        tr = m - b * np.sqrt(v + e) / g
        margins.append(abs(tr - np.round(tr)))
    return out, (min(margins) if margins else np.inf)


def exported_forward(model, x):
    """numpy forward pass of the exported JSON semantics. Returns
    (logits, classes, minimum threshold margin, disagreements of the float
    batchnorm formula with the exact comparison)."""
    L = {layer["name"]: layer for layer in model["layers"]}
    h = np.asarray(x, dtype=np.int64)
    assert h.min() >= 0 and h.max() <= 31                 # uint<5>
    in_max = 31
    margins = []
    disagree = 0
    for k in (1, 2):
        W = np.array(L[f"fc{k}"]["weights"], dtype=np.int64)
        assert set(np.unique(W)) <= {-1, 1}
        z = h @ W.T                                         # exact integer sums
        bound = in_max * W.shape[1]
        bn = L[f"bn{k}"]
        s, margin = exact_bn_sign(z, bn, -bound, bound)
        margins.append(margin)
        # The same decision with the float formula, as a cross-check.
        g, b = np.array(bn["gamma"]), np.array(bn["beta"])
        m, v = np.array(bn["mean"]), np.array(bn["var"])
        yf = g * (z - m) / np.sqrt(v + bn["epsilon"]) + b
        disagree += int(np.sum(np.where(yf >= 0, 1, -1) != s))
        h = s
        in_max = 1
    W3 = np.array(L["fc3"]["weights"], dtype=np.int64)
    b3 = np.array(L["fc3"]["bias"], dtype=np.float64)
    assert set(np.unique(W3)) <= {-1, 1}
    assert np.all(b3 * 4 == np.round(b3 * 4)) and b3.min() >= BIAS_MIN and b3.max() <= BIAS_MAX
    logits = (h @ W3.T).astype(np.float64) + b3             # exact: quarter grid
    classes = np.argmax(logits, axis=1)                     # first maximum wins
    return logits, classes, min(margins), disagree


def main():
    t0 = time.time()
    rng = np.random.default_rng(SEED)
    x_train, y_train, x_test, y_test = load_data()
    print(f"train rows: {len(x_train)}, test rows: {len(x_test)}")

    p, running = train(x_train, y_train, rng)
    train_time = time.time() - t0
    print(f"training time: {train_time:.1f} s")

    float_train = float(np.mean(predict_training_model(p, running, x_train) == y_train))
    float_test = float(np.mean(predict_training_model(p, running, x_test) == y_test))
    print(f"training model (running stats, unrounded bias) accuracy: "
          f"train {float_train:.4f}, test {float_test:.4f}")

    model = build_model(p, running)
    write_model(os.path.join(OUT_DIR, "model.json"), model)
    write_csv(x_test, y_test)

    # Check what was written: re-read the files.
    with open(os.path.join(OUT_DIR, "model.json"), encoding="ascii") as f:
        exported = json.load(f)
    xt = np.loadtxt(os.path.join(OUT_DIR, "x_test.csv"), delimiter=",", dtype=np.int64)
    yt = np.loadtxt(os.path.join(OUT_DIR, "y_test.csv"), dtype=np.int64)
    assert np.array_equal(xt, x_test) and np.array_equal(yt, y_test)

    _, cls_train, _, dis_train = exported_forward(exported, x_train)
    logits, cls_test, margin, dis_test = exported_forward(exported, xt)
    exp_train = float(np.mean(cls_train == y_train))
    exp_test = float(np.mean(cls_test == yt))
    ties = int(np.sum(np.sum(logits == logits.max(axis=1, keepdims=True), axis=1) > 1))
    print(f"exported model accuracy (numpy check of the JSON semantics): "
          f"train {exp_train:.4f}, test {exp_test:.4f} "
          f"({int(np.sum(cls_test == yt))}/{len(yt)})")
    changed = int(np.sum(cls_test != predict_training_model(p, running, x_test)))
    print(f"test predictions changed by export (bias rounding): {changed}")
    print(f"test rows with tied top logits (lowest index wins): {ties}")
    print(f"float batchnorm formula vs exact comparison: "
          f"{dis_train + dis_test} disagreements")
    print(f"smallest distance of a batchnorm->sign threshold from an integer: {margin:.3g}")
    assert dis_train + dis_test == 0
    assert margin > 1e-6, "a threshold sits (almost) on an integer sum"
    assert exp_test >= MIN_EXPORTED_ACC, f"exported test accuracy {exp_test:.4f} too low"
    for name in ("model.json", "x_test.csv", "y_test.csv"):
        size = os.path.getsize(os.path.join(OUT_DIR, name))
        print(f"wrote {name} ({size} bytes)")
    print(f"total time: {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
