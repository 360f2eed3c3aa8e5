#!/usr/bin/env python3
"""The jet tagger as the peers can build it: the logits as the only output
(no argmax), and every type truncating and wrapping (trn/wrap, hls4ml's
ap_fixed default) where the trained model rounds and saturates. Weights
and biases are first put on their grid by the trained model's own types
(round half up, then saturate, as ap_fixed does), so the re-typed network
has the same constants; only its activations and outputs truncate and
wrap instead.

    python3 bench/vs_peers/retype.py examples/jet_tagger/model.json \
        bench/vs_peers/jet_tagger_trn_wrap.json
"""
import json
import math
import re
import sys


def plain(type_text):
    """`fixed<8,2,rnd,sat>` -> `fixed<8,2>`: the first two fields only."""
    m = re.fullmatch(r"\s*(u?fixed)\s*<\s*([^,>]+)\s*,\s*([^,>]+)\s*(,[^>]*)?>\s*", type_text)
    if not m:
        return type_text
    return f"{m.group(1)}<{m.group(2).strip()},{m.group(3).strip()}>"


def fields(type_text):
    """(signed, width, integer bits, rounds, saturates) of a type text."""
    m = re.fullmatch(r"\s*(u?)fixed\s*<([^>]*)>\s*", type_text)
    parts = [p.strip() for p in m.group(2).split(",")]
    modes = parts[2:]
    rounds = any(p.startswith("rnd") for p in modes)
    saturates = any(p.startswith("sat") for p in modes)
    return m.group(1) == "", int(parts[0]), int(parts[1]), rounds, saturates


def on_grid(value, type_text):
    """`value` cast to the type exactly as ap_fixed casts it (rnd: half
    up; sat: to the ends), with Python's exact integers."""
    signed, width, integer, rounds, saturates = fields(type_text)
    frac = width - integer
    scaled = value * 2.0**frac  # a power of two: exact
    raw = math.floor(scaled + 0.5) if rounds else math.floor(scaled)
    lo, hi = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)
    if not lo <= raw <= hi:
        if not saturates:
            sys.exit(f"a constant {value} does not fit {type_text}")
        raw = min(max(raw, lo), hi)
    return raw / 2.0**frac


def main(src, dst):
    with open(src) as f:
        model = json.load(f)
    for port in model["inputs"]:
        port["type"] = plain(port["type"])
    layers = [l for l in model["layers"] if l["op"] != "argmax"]
    for layer in layers:
        if "weights" in layer:
            t = layer["weight_type"]
            layer["weights"] = [[on_grid(w, t) for w in row] for row in layer["weights"]]
        if "bias" in layer:
            t = layer["bias_type"]
            layer["bias"] = [on_grid(b, t) for b in layer["bias"]]
        for key, value in list(layer.items()):
            if key.endswith("_type") and isinstance(value, str):
                layer[key] = plain(value)
    model["layers"] = layers
    kept = {l["name"] for l in layers}
    model["outputs"] = [o for o in model["outputs"] if o in kept]
    model["name"] = model["name"] + "_trn_wrap"
    with open(dst, "w") as f:
        json.dump(model, f)
        f.write("\n")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: retype.py MODEL.json OUT.json")
    main(sys.argv[1], sys.argv[2])
