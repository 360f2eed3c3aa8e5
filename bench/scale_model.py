#!/usr/bin/env python3
"""A W-W-W-W MLP (input of W, three dense layers of W units, ReLU between)
with uniformly random 8-bit weights on their grid, as neurtl model JSON:
the models of the scale table in docs/scale.md. With DENSITY below 1,
each weight is non-zero with that probability (a fixed mask, as a
structurally sparse network has): the sparsity rows of that table.
With a fourth argument `sparse`, the weights are written in the model
format's sparse form (non-zero entries only); the design is the same.

Usage: bench/scale_model.py W [SEED [DENSITY [sparse]]] > model.json
"""
import json
import random
import sys


def main():
    width = int(sys.argv[1])
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    density = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
    grid = lambda bits, frac: rng.randint(-(1 << (bits - 1)), (1 << (bits - 1)) - 1) / (1 << frac)
    masked = lambda: grid(8, 6) if rng.random() < density else 0.0
    sparse_form = len(sys.argv) > 4 and sys.argv[4] == "sparse"

    def matrix(rows):
        if not sparse_form:
            return rows
        listed = [[[c, w] for c, w in enumerate(r) if w != 0.0] for r in rows]
        return {"inputs": width, "rows": listed}

    layers, prev = [], "x"
    for k in range(3):
        name = f"fc{k}"
        layers.append({
            "name": name, "op": "dense", "input": prev, "units": width,
            "weights": matrix([[masked() for _ in range(width)] for _ in range(width)]),
            "bias": [grid(8, 4) for _ in range(width)],
            "weight_type": "fixed<8,2>", "bias_type": "fixed<8,4>",
        })
        prev = name
        if k < 2:
            layers.append({"name": f"relu{k}", "op": "relu", "input": prev,
                           "output_type": "ufixed<8,4>"})
            prev = f"relu{k}"
    model = {
        "format": "neurtl-model", "version": 1, "name": f"mlp{width}" + ("" if density == 1.0 else f"_d{density}"),
        "inputs": [{"name": "x", "shape": [width], "type": "fixed<8,4>"}],
        "layers": layers, "outputs": [prev],
    }
    json.dump(model, sys.stdout)


if __name__ == "__main__":
    main()
