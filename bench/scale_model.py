#!/usr/bin/env python3
"""A W-W-W-W MLP (input of W, three dense layers of W units, ReLU between)
with uniformly random 8-bit weights on their grid, as neurtl model JSON:
the models of the scale table in docs/scale.md.

Usage: bench/scale_model.py W [SEED] > model.json
"""
import json
import random
import sys


def main():
    width = int(sys.argv[1])
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    grid = lambda bits, frac: rng.randint(-(1 << (bits - 1)), (1 << (bits - 1)) - 1) / (1 << frac)
    layers, prev = [], "x"
    for k in range(3):
        name = f"fc{k}"
        layers.append({
            "name": name, "op": "dense", "input": prev, "units": width,
            "weights": [[grid(8, 6) for _ in range(width)] for _ in range(width)],
            "bias": [grid(8, 4) for _ in range(width)],
            "weight_type": "fixed<8,2>", "bias_type": "fixed<8,4>",
        })
        prev = name
        if k < 2:
            layers.append({"name": f"relu{k}", "op": "relu", "input": prev,
                           "output_type": "ufixed<8,4>"})
            prev = f"relu{k}"
    model = {
        "format": "neurtl-model", "version": 1, "name": f"mlp{width}",
        "inputs": [{"name": "x", "shape": [width], "type": "fixed<8,4>"}],
        "layers": layers, "outputs": [prev],
    }
    json.dump(model, sys.stdout)


if __name__ == "__main__":
    main()
