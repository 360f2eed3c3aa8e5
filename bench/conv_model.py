#!/usr/bin/env python3
"""A conv2d model for the scale figures of docs/scale.md:

    python3 bench/conv_model.py H W C F > convHxWxC.json

one `conv2d` of F 3x3 filters, "same" padding, on an H x W x C input
(ufixed<4,1>), uniformly random 4-bit weights (fixed<4,1>) from a fixed
seed, output fixed<8,4>. Standard library only.
"""
import json
import random
import sys

h, w, c, f = (int(a) for a in sys.argv[1:5])
rng = random.Random(1)
grid = [i / 8 for i in range(-8, 8)]
kernel = [[[[rng.choice(grid) for _ in range(c)] for _ in range(3)] for _ in range(3)]
          for _ in range(f)]
json.dump({
    "format": "neurtl-model", "version": 1, "name": f"conv{h}x{w}x{c}",
    "inputs": [{"name": "x", "shape": [h, w, c], "type": "ufixed<4,1>"}],
    "layers": [{"name": "c", "op": "conv2d", "input": "x", "filters": f, "kernel_size": 3,
                "padding": "same", "weights": kernel, "weight_type": "fixed<4,1>",
                "output_type": "fixed<8,4>"}],
    "outputs": ["c"],
}, sys.stdout)
