#!/usr/bin/env python3
"""Write the random-layer calibration models of bench/estimate_accuracy.sh.

Each model is one dense layer (random weights on the weight type's grid,
some zeros, as pruned and quantized networks have) and a ReLU with a
narrower output type, over a grid of input counts, unit counts and weight
and activation widths. Plain Python, a fixed seed: the same models every
time.

    bench/random_layers.py OUT_DIR
"""
import json
import os
import random
import sys

# (inputs, units, weight bits, input bits)
GRID = [
    (8, 8, 8, 8),
    (16, 16, 4, 8),
    (16, 32, 6, 6),
    (32, 16, 3, 8),
    (32, 32, 8, 4),
    (64, 8, 5, 6),
    (12, 48, 4, 10),
]


def layer_model(n_in, units, wbits, xbits, rng):
    lo, hi = -(1 << (wbits - 1)), (1 << (wbits - 1)) - 1
    step = 2.0 ** -(wbits - 1)  # weights in [-1, 1)
    weights = [
        [0.0 if rng.random() < 0.2 else rng.randint(lo, hi) * step for _ in range(n_in)]
        for _ in range(units)
    ]
    bias = [rng.randint(-8, 7) / 8.0 for _ in range(units)]
    name = f"rand_{n_in}x{units}_w{wbits}_x{xbits}"
    return name, {
        "format": "neurtl-model",
        "version": 1,
        "name": name,
        "inputs": [{"name": "x", "shape": [n_in], "type": f"fixed<{xbits},2>"}],
        "layers": [
            {
                "name": "fc",
                "op": "dense",
                "input": "x",
                "units": units,
                "weights": weights,
                "bias": bias,
                "weight_type": f"fixed<{wbits},1>",
                "bias_type": "fixed<5,2>",
            },
            {"name": "act", "op": "relu", "input": "fc", "output_type": f"ufixed<{xbits},3,rnd,sat>"},
        ],
        "outputs": ["act"],
    }


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(out, exist_ok=True)
    rng = random.Random(2026)
    for n_in, units, wbits, xbits in GRID:
        name, m = layer_model(n_in, units, wbits, xbits, rng)
        with open(os.path.join(out, name + ".json"), "w") as f:
            json.dump(m, f)
        print(os.path.join(out, name + ".json"))


if __name__ == "__main__":
    main()
