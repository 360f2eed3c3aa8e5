#!/usr/bin/env python3
"""What size of design `neurtl verify --formal` proves, in what time: a
dense layer of UNITS neurons over N inputs of B bits, W-bit random
weights, a ReLU cast after it; then the same with a second layer. Each
is compiled (default options: clock-driven pipeline at 200 MHz) and
proved with a time limit; prints one Markdown row per model.

Usage: bench/formal_sizes.py [NEURTL] [TIMEOUT_S] > table.md
"""
import json
import random
import subprocess
import sys
import tempfile
import time

NEURTL = sys.argv[1] if len(sys.argv) > 1 else "target/release/neurtl"
TIMEOUT = sys.argv[2] if len(sys.argv) > 2 else "300"


def model(n, b, w, units, layers, seed=1):
    rng = random.Random(seed)
    code = lambda bits: rng.randint(-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    ls, prev, width = [], "x", n
    for k in range(layers):
        ls.append({"name": f"fc{k}", "op": "dense", "input": prev, "units": units,
                   "weights": [[code(w) / (1 << (w - 2)) for _ in range(width)] for _ in range(units)],
                   "weight_type": f"fixed<{w},2>"})
        ls.append({"name": f"r{k}", "op": "relu", "input": f"fc{k}",
                   "output_type": f"ufixed<{b},{b // 2},rnd,sat>"})
        prev, width = f"r{k}", units
    return {"format": "neurtl-model", "version": 1, "name": f"f{n}x{units}",
            "inputs": [{"name": "x", "shape": [n], "type": f"fixed<{b},{b // 2}>"}],
            "layers": ls, "outputs": [prev]}


def run(n, b, w, units, layers):
    with tempfile.TemporaryDirectory() as d:
        path = f"{d}/m.json"
        json.dump(model(n, b, w, units, layers), open(path, "w"))
        subprocess.run([NEURTL, "compile", path, "-o", f"{d}/b", "--vectors", "1"],
                       check=True, capture_output=True)
        t = time.time()
        r = subprocess.run([NEURTL, "verify", f"{d}/b", "--formal", "--timeout", TIMEOUT],
                           capture_output=True, text=True)
        out = (r.stdout + r.stderr).strip().splitlines()[-1]
        verdict = out.split(":")[0]
        lat = json.load(open(f"{d}/b/report.json"))["latency_cycles"]
        return verdict, time.time() - t, lat


def main():
    print("| layers | inputs × bits | weight bits | units | latency | verdict | seconds |")
    print("|---|---|---|---|---|---|---|")
    grid = [(1, n, b, w, u)
            for (n, b) in ((2, 4), (4, 4), (8, 4), (4, 8))
            for w in (2, 4, 8)
            for u in (1, 4)]
    grid += [(2, n, 4, w, 2) for n in (2, 4) for w in (2, 4)]
    for layers, n, b, w, u in grid:
        verdict, secs, lat = run(n, b, w, u, layers)
        print(f"| {layers} | {n} × {b} | {w} | {u} | {lat} | {verdict} | {secs:.1f} |", flush=True)


if __name__ == "__main__":
    main()
