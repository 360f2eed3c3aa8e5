#!/usr/bin/env python3
"""The peers' half of bench/vs_peers/run.sh: build a neurtl model JSON in
da4ml and alkaid, check their bit-exact emulators against neurtl's golden
model, and turn every design's Yosys results into the Markdown tables.

Subcommands (run.sh calls them in this order for each model):
  build MODEL X GOLDEN DIR   write DIR/<design>/ for every peer design and
                             DIR/peers.json (settings, cycles, generation
                             time, mismatches)
  neurtl DIR RUN_LOG SECONDS DIR/neurtl.json from neurtl's build folder and
                             the log of `neurtl run`
  clock DIR PEER             the peer's `sta` path in ns and its cycles,
                             once it is synthesized
  matched DIR RUN_LOG SECONDS SETTINGS
                             as `neurtl`, for the build DIR/neurtl-matched
                             made at da4ml's stage time and cycles
  designs DIR                one line per design: folder, top, Verilog files
  retime MODEL DIR           generate every peer design once more, into a
                             scratch folder, and add each time to its record
  time DIR DESIGN SECONDS    add one more generation time to DIR's record of
                             DESIGN (neurtl or neurtl-matched)
  table DIR                  the Markdown table of one model
  doc OUT VERSIONS MODEL...  docs/performance.md on standard output

Only the ops the benchmark networks use are traced: dense, relu and
quantize, in a chain from one input. Anything else stops with an error
rather than building a different network.
"""
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

# The settings of the comparison, those of the figures in
# ../shared/bench/README.md. da4ml: at most 5 adder levels per stage and a
# CMVM delay constraint hard_dc=2. alkaid: its converter's default
# hard_dc=5 (its Python API's default, no constraint, leaves adder chains
# of up to 82 estimated ns on jsc_rand8) and the stage count da4ml
# reaches, since its own latency_cutoff counts estimated ns, not adders.
DA4ML_LATENCY_CUTOFF = 5
DA4ML_HARD_DC = 2
ALKAID_HARD_DC = 5

# ---------------------------------------------------------------- model


def fail(msg):
    sys.exit(f"vs_peers: {msg}")


def parse_type(text):
    """A neurtl type string as (k, i, f, round, overflow): da4ml's and
    alkaid's quantizers take a sign bit k, integer bits i without the sign,
    fractional bits f. `fixed<W,I>` has I integer bits including the sign."""
    m = re.fullmatch(r"\s*(u?fixed)<\s*(-?\d+)\s*,\s*(-?\d+)\s*((?:,\s*\w+\s*)*)>\s*", text)
    if not m:
        fail(f"type `{text}`: only fixed<W,I,...> and ufixed<W,I,...> are supported")
    signed = m.group(1) == "fixed"
    width, integer = int(m.group(2)), int(m.group(3))
    modes = [s.strip() for s in m.group(4).split(",") if s.strip()]
    rnd = next((s for s in modes if s.startswith(("trn", "rnd"))), "trn")
    ovf = next((s for s in modes if s.startswith(("wrap", "sat"))), "wrap")
    k = 1 if signed else 0
    return k, integer - k, width - integer, rnd, ovf


def peer_modes(rnd, ovf, where):
    """neurtl's modes in the peers' spelling; only those both peers have."""
    table_r = {"trn": "TRN", "rnd": "RND"}
    table_o = {"wrap": "WRAP", "sat": "SAT"}
    if rnd not in table_r or ovf not in table_o:
        fail(f"{where}: modes {rnd}/{ovf} are not supported by this benchmark")
    return table_r[rnd], table_o[ovf]


def on_grid(values, f, where):
    """The benchmark's weights are already quantized: check instead of
    quantizing, so no rounding mode can differ between the tools."""
    scaled = np.asarray(values, dtype=np.float64) * 2.0**f
    if not np.array_equal(scaled, np.round(scaled)):
        fail(f"{where}: values are not on the grid of 2^-{f}")
    return np.asarray(values, dtype=np.float64)


def load_model(path):
    """The model's layers in evaluation order, checked to be a chain."""
    try:
        model = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        fail(f"cannot read model {path}: {e}")
    if model.get("format") != "neurtl-model":
        fail(f"{path} is not a neurtl model JSON")
    if len(model["inputs"]) != 1 or len(model["outputs"]) != 1:
        fail(f"{path}: only one input and one output are supported")
    by_input = {}
    for layer in model["layers"]:
        if layer["op"] not in ("dense", "relu", "quantize"):
            fail(f"{path}: layer `{layer['name']}` has op `{layer['op']}`, not supported here")
        if layer["input"] in by_input:
            fail(f"{path}: `{layer['input']}` feeds two layers; only chains are supported")
        by_input[layer["input"]] = layer
    chain, name = [], model["inputs"][0]["name"]
    while name in by_input:
        chain.append(by_input[name])
        name = chain[-1]["name"]
    if name != model["outputs"][0]:
        fail(f"{path}: the output `{model['outputs'][0]}` is not the end of the layer chain")
    return model, chain


def cast(x, type_text, where, ops):
    """x cast to a neurtl type with the peer's quantize."""
    if type_text in (None, "auto"):
        return x
    k, i, f, rnd, ovf = parse_type(type_text)
    r, o = peer_modes(rnd, ovf, where)
    return ops.quantize(x, k, i, f, o, r)


def apply_chain(x, chain, ops):
    """Trace the network on x. `ops` is the peer's trace.ops module."""
    for layer in chain:
        where = f"layer `{layer['name']}`"
        if layer["op"] == "dense":
            if layer.get("accum_type", "auto") != "auto":
                fail(f"{where}: only accum_type auto is supported")
            wf = parse_type(layer["weight_type"])[2]
            w = on_grid(layer["weights"], wf, where + " weights")
            # neurtl stores [units][inputs]; the peers multiply x @ W.
            x = x @ w.T
            if "bias" in layer:
                bf = parse_type(layer.get("bias_type", layer["weight_type"]))[2]
                x = x + on_grid(layer["bias"], bf, where + " bias")
            x = cast(x, layer.get("output_type"), where, ops)
        elif layer["op"] == "relu":
            k, i, f, rnd, ovf = parse_type(layer.get("output_type") or "auto")
            r, o = peer_modes(rnd, ovf, where)
            if o != "WRAP" or k != 0:
                fail(f"{where}: only an unsigned wrapping ReLU output is supported")
            # The peers' relu drops the fraction to f bits and wraps to i.
            x = ops.relu(x, i=i, f=f, round_mode=r)
        else:
            x = cast(x, layer["output_type"], where, ops)
    return x


def read_csv(path):
    try:
        return np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    except (OSError, ValueError) as e:
        fail(f"cannot read {path}: {e}")


# ---------------------------------------------------------------- peers


def input_cast(model):
    k, i, f, _, _ = parse_type(model["inputs"][0]["type"])
    return k, i, f


def build_da4ml(model, chain, out):
    """da4ml: trace, CMVM solve under hard_dc, pipeline by adder levels."""
    from da4ml.codegen import RTLModel
    from da4ml.trace import FixedVariableArrayInput, comb_trace
    from da4ml.trace import ops

    t0 = time.perf_counter()
    n = model["inputs"][0]["shape"][0]
    inp = FixedVariableArrayInput(n, solver_options={"hard_dc": DA4ML_HARD_DC})
    y = apply_chain(ops.quantize(inp, *input_cast(model)), chain, ops)
    comb = comb_trace(inp, y)
    rtl = RTLModel(comb, top_name(model), out, latency_cutoff=DA4ML_LATENCY_CUTOFF)
    rtl.write()
    seconds = time.perf_counter() - t0
    stages = len(rtl._pipe.solutions)
    # pipeline.v: stage0_inp <= model_inp, stage{i}_inp <= stage{i-1}_out,
    # model_out <= last stage: N stages are N + 1 registers deep.
    return comb.predict, {
        "design": "da4ml 0.6.0",
        "settings": f"latency_cutoff={DA4ML_LATENCY_CUTOFF}, hard_dc={DA4ML_HARD_DC}",
        "stages": stages,
        "cycles": stages + 1,
        "gen_seconds": seconds,
        "gen_runs": [seconds],
    }


def build_alkaid(model, chain, out, stages, ternary):
    """alkaid: the same trace, pipelined into a given number of stages."""
    from alkaid.codegen import RTLModel
    from alkaid.trace import FVArrayInput, trace
    from alkaid.trace import ops

    t0 = time.perf_counter()
    n = model["inputs"][0]["shape"][0]
    inp = FVArrayInput(n, solver_options={"hard_dc": ALKAID_HARD_DC})
    y = apply_chain(ops.quantize(inp, *input_cast(model)), chain, ops)
    comb = trace(inp, y)
    rtl = RTLModel(comb, out, top_name(model), n_stages=stages, ternary_fuse=ternary)
    rtl.write()
    seconds = time.perf_counter() - t0
    # The output port's schedule counts edges from the input port: input
    # register, stages - 1 stage registers, output register.
    cycles = max(s.schedule.bias for s in rtl.fsm.out_signals)

    def emulate(x):
        # The FSM emulator runs the very stages written to Verilog
        # (ternary adders fused or not).
        return np.asarray(rtl.fsm.predict(x)["model_out"])

    fusion = "ternary fusion" if ternary else "no ternary fusion"
    return emulate, {
        "design": "alkaid 0.8.2",
        "settings": f"n_stages={stages}, hard_dc={ALKAID_HARD_DC}, {fusion}",
        "stages": stages,
        "cycles": int(cycles),
        "gen_seconds": seconds,
        "gen_runs": [seconds],
    }


def top_name(model):
    return re.sub(r"\W", "_", model["name"])


def mismatches(predict, x, golden):
    got = np.asarray(predict(x), dtype=np.float64).reshape(golden.shape)
    return int(np.sum(got != golden))


def peer_files(folder, top):
    """The peers' Verilog: the top, its stages and the modules of the static
    library that they instantiate. The I/O wrapper (a simulation
    convenience) stays out, and so do unused library modules: da4ml's
    lookup_table.v reads a memory file that only a design with tables has."""
    src = Path(folder) / "src"
    files = sorted(p for p in src.glob("*.v") if not p.name.endswith("_wrapper.v"))
    text = "".join(p.read_text() for p in files)
    files += sorted(
        p for p in (src / "static").glob("*.v") if re.search(rf"\b{p.stem}\b", text)
    )
    return [str(p.relative_to(folder)) for p in files]


def cmd_build(model_path, x_path, golden_path, out):
    model, chain = load_model(model_path)
    x, golden = read_csv(x_path), read_csv(golden_path)
    if golden.shape[0] != x.shape[0]:
        fail(f"{golden_path} has {golden.shape[0]} rows, {x_path} {x.shape[0]}")
    out = Path(out)
    designs = []

    def record(key, built):
        predict, info = built
        info["dir"] = key
        info["top"] = top_name(model)
        info["files"] = peer_files(out / key, info["top"])
        info["mismatches"] = mismatches(predict, x, golden)
        info["values"] = int(golden.size)
        print(f"  {info['design']} ({info['settings']}): {info['cycles']} cycles, "
              f"generated in {info['gen_seconds']:.2f} s, {info['mismatches']} mismatching "
              f"values of {info['values']}", flush=True)
        designs.append(info)
        return info

    da = record("da4ml", build_da4ml(model, chain, out / "da4ml"))
    for ternary, key in ((True, "alkaid_ternary"), (False, "alkaid_binary")):
        record(key, build_alkaid(model, chain, out / key, da["stages"], ternary))
    (out / "peers.json").write_text(json.dumps(designs, indent=1))


# ---------------------------------------------------------------- neurtl


def cmd_neurtl(folder, run_log, seconds, name="neurtl",
               settings="defaults (--pipeline clock, 200 MHz)"):
    """neurtl's entry: cycles and mismatches as `neurtl run` printed them."""
    log = Path(run_log).read_text()
    cyc = re.search(r"testbench measured (\d+) cycles", log)
    bad = re.search(r"^mismatches\s+(\d+)", log, re.M)
    vec = re.search(r"^vectors\s+(\d+)", log, re.M)
    if not (cyc and bad and vec):
        fail(f"{run_log}: no measured latency or mismatch count in the log of neurtl run")
    build = Path(folder) / name
    config = json.loads((build / "neurtl.json").read_text())
    files = sorted(str(p.relative_to(build)) for p in (build / "rtl").glob("*.v"))
    info = {
        "design": name,
        "settings": settings,
        "dir": name,
        "top": config["top"],
        "files": files,
        "cycles": int(cyc.group(1)),
        "gen_seconds": float(seconds),
        "gen_runs": [float(seconds)],
        # `neurtl run` compares Verilator's outputs with the golden model.
        "mismatches": int(bad.group(1)),
        "vectors": int(vec.group(1)),
    }
    (Path(folder) / f"{name}.json").write_text(json.dumps(info, indent=1))


def cmd_matched(folder, run_log, seconds, settings):
    cmd_neurtl(folder, run_log, seconds, "neurtl-matched", settings)


# ---------------------------------------------------------------- timing
# Every generator is timed several times, the runs of all designs
# interleaved, and the fastest run is the figure: on a shared machine a
# run can only be slowed by other work, never sped up, so the minimum is
# the figure least disturbed, and every design gets the same treatment.


def add_run(record, seconds):
    record["gen_runs"] = record.get("gen_runs", []) + [float(seconds)]
    record["gen_seconds"] = min(record["gen_runs"])


def cmd_time(folder, design, seconds):
    path = Path(folder) / f"{design}.json"
    record = json.loads(path.read_text())
    add_run(record, seconds)
    path.write_text(json.dumps(record, indent=1))


def cmd_retime(model_path, folder):
    import tempfile

    model, chain = load_model(model_path)
    path = Path(folder) / "peers.json"
    designs = json.loads(path.read_text())
    with tempfile.TemporaryDirectory() as scratch:
        for d in designs:
            out = Path(scratch) / d["dir"]
            if d["dir"] == "da4ml":
                _, info = build_da4ml(model, chain, out)
            else:
                ternary = d["dir"] == "alkaid_ternary"
                _, info = build_alkaid(model, chain, out, d["stages"], ternary)
            add_run(d, info["gen_seconds"])
    path.write_text(json.dumps(designs, indent=1))


def cmd_clock(folder, peer):
    """The peer's stage time by `sta` (ns) and its cycles: the clock and
    latency neurtl is built for in the matched row."""
    d = next((d for d in all_designs(folder) if d["dir"] == peer), None)
    if d is None:
        fail(f"{folder}: no design {peer}")
    path = synth_figures(Path(folder) / d["dir"], d["top"])["path_ps"]
    if not path:
        fail(f"{folder}/{d['dir']}: no sta path")
    print(f"{path / 1000:.3f} {d['cycles']}")


def all_designs(folder):
    """neurtl's designs (the default first), then the peers'."""
    folder = Path(folder)
    designs = [json.loads((folder / f"{n}.json").read_text())
               for n in ("neurtl", "neurtl-matched") if (folder / f"{n}.json").exists()]
    return designs + json.loads((folder / "peers.json").read_text())


def cmd_designs(folder):
    for d in all_designs(folder):
        print("\t".join([d["dir"], d["top"]] + d["files"]))


# ---------------------------------------------------------------- tables


def synth_figures(folder, top):
    """LUTs (LUT1-LUT6 and LUT6_2), FD* flip-flops, CARRY4 from Yosys'
    `stat -json`; the critical path from `sta`."""
    stat = json.loads((folder / "synth-stat.json").read_text())
    cells = stat["modules"]["\\" + top]["num_cells_by_type"]
    luts = sum(v for k, v in cells.items() if re.fullmatch(r"LUT([1-6]|6_2)", k))
    ffs = sum(v for k, v in cells.items() if k.startswith("FD"))
    sta = (folder / "synth-sta.txt").read_text()
    m = re.search(r"Latest arrival time in '.*?' is (\d+)", sta)
    return {
        "luts": luts,
        "ffs": ffs,
        "carry4": cells.get("CARRY4", 0),
        "path_ps": int(m.group(1)) if m else None,
    }


def fmt_int(v):
    return f"{v:,}"


def ratio(v, base):
    return f"{v / base:.2f}×" if base else "n/a"


def checked(r):
    """neurtl's testbench counts samples, the peers' comparison values."""
    if "vectors" in r:
        return f"{r['mismatches']} of {fmt_int(r['vectors'])} samples"
    return f"{r['mismatches']} of {fmt_int(r['values'])} values"


def rows_of(folder):
    folder = Path(folder)
    rows = []
    for d in all_designs(folder):
        d.update(synth_figures(folder / d["dir"], d["top"]))
        d["latency_ns"] = d["cycles"] * d["path_ps"] / 1000 if d["path_ps"] else None
        rows.append(d)
    return rows


def table(folder):
    rows = rows_of(folder)
    base = rows[0]
    head = ("| design | settings | LUT | FF | CARRY4 | cycles | sta path (ps) | latency (ns) "
            "| generation (s) | mismatches | LUT ratio | FF ratio | CARRY4 ratio | latency ratio "
            "| generation ratio |")
    lines = [head, "|" + "---|" * 15]
    for r in rows:
        lat = f"{r['latency_ns']:.2f}" if r["latency_ns"] else "n/a"
        lat_ratio = ratio(r["latency_ns"], base["latency_ns"]) if r["latency_ns"] else "n/a"
        lines.append(
            f"| {r['design']} | {r['settings']} | {fmt_int(r['luts'])} | {fmt_int(r['ffs'])} "
            f"| {fmt_int(r['carry4'])} | {r['cycles']} | {fmt_int(r['path_ps'] or 0)} | {lat} "
            f"| {r['gen_seconds']:.2f} | {checked(r)} | {ratio(r['luts'], base['luts'])} "
            f"| {ratio(r['ffs'], base['ffs'])} | {ratio(r['carry4'], base['carry4'])} "
            f"| {lat_ratio} | {ratio(r['gen_seconds'], base['gen_seconds'])} |"
        )
    return "\n".join(lines)


def cmd_table(folder):
    print(table(folder))


DOC_INTRO = """# Performance: neurtl beside da4ml and alkaid

neurtl, da4ml 0.6.0 and alkaid 0.8.2 each build the same networks: by
default the benchmark models of `../shared/bench` (the jet-tagger shape
16-64-32-32-5, random weights on their grid, biases fixed<8,4>, input
fixed<8,4>, exact dense outputs, ReLU outputs ufixed<8,4> trn/wrap) and
the trained jet tagger re-typed to trn/wrap (`bench/vs_peers/retype.py`:
its constants put on their grid by its own rounding and saturating types,
then every type truncating and wrapping, and the logits as the only
output). The peers build them through their numpy tracing APIs from the same model
JSON. `bench/vs_peers/run.sh` builds every design, checks it against
neurtl's golden model on the input vectors below, and synthesizes it with
one Yosys script. Every figure here was measured by that script; a
synthesis is reused from an earlier run into the same folder only when its
script and every Verilog file it reads are byte-identical (all three
tools generate the same Verilog from run to run).

{meta}

Reproduce with:

```
{command}
```

## How each column is measured

- **Synthesis**: the same Yosys script for every design, the one
  `neurtl synth` runs for `--device xilinx`: `read_verilog` of the
  design's files; `synth_xilinx -flatten -top TOP; stat`; then
  `read_verilog -lib -specify +/xilinx/cells_sim.v` (and neurtl's LUT6_2
  timing arcs, `rtl/sta/LUT6_2.v`, which only matter where a LUT6_2 is
  instantiated) and `sta`. LUT counts LUT1–LUT6 and LUT6_2, FF counts FD*
  cells.
- **sta path**: Yosys' "Latest arrival time", over the cells' own delays
  with no routing: a vendor-free lower bound, the same measure for all.
- **cycles**: register levels from input to output. neurtl's figure is the
  one its Verilator testbench measured; its input is assumed to come from
  flip-flops outside the design. Both peers register their input and
  their output, so N stages are N + 1 cycles (read from da4ml's pipeline
  RTL and from alkaid's output schedule).
- **latency** = cycles × sta path.
- **generation**: wall time from the model to Verilog on disk, in the same
  run: `neurtl compile` as a command (it also writes testbenches and
  vectors); for the peers, tracing, CMVM solving, pipelining and writing,
  timed inside Python (interpreter start and imports not counted). Each
  generator runs {reps} times, the runs of all designs interleaved at the
  end of the script, and the fastest run is the figure: other work on the
  machine can only slow a run down.
- **mismatches**, against neurtl's golden model on the input vectors.
  neurtl's: samples whose output differs in the
  Verilator simulation of its RTL (`neurtl run --inputs`). The peers':
  output values of their bit-exact emulator (`predict`: da4ml's
  combinational interpreter, alkaid's pipelined FSM emulator) that differ
  from `neurtl eval`; this checks the peers' arithmetic, not a simulation
  of their Verilog.
- **ratios** are each design's figure divided by neurtl's.
- da4ml runs with `latency_cutoff=5` (adder levels per stage) and
  `hard_dc=2`. alkaid runs with `hard_dc=5`, the default of its own
  converter, and `n_stages` set to da4ml's stage count, since its own
  `latency_cutoff` counts estimated ns (about 1.09 ns per adder), with and
  without its ternary-adder fusion. neurtl runs with its defaults:
  registers where its 7-series delay model says 200 MHz runs out. The
  row `neurtl-matched` is neurtl built for da4ml's own result: its `sta`
  stage time as the clock (`--clock`, which neurtl's delay model, never
  below `sta`, must meet), its cycle count as the latency (`--latency`),
  and ternary adders (`--adders ternary`).
"""


def cmd_doc(out, versions, models):
    meta = Path(versions).read_text().strip()
    command = meta.split("command: ", 1)[1].splitlines()[0] if "command: " in meta else ""
    reps = max(len(d.get("gen_runs", [1])) for n in models for d in all_designs(Path(out) / n))
    parts = [DOC_INTRO.format(meta=meta, command=command, reps=reps)]
    for name in models:
        parts.append(f"## {name}\n\n{table(Path(out) / name)}\n")
    print("\n".join(parts))


def main(argv):
    commands = {
        "build": (cmd_build, 4),
        "neurtl": (cmd_neurtl, 3),
        "matched": (cmd_matched, 4),
        "clock": (cmd_clock, 2),
        "designs": (cmd_designs, 1),
        "table": (cmd_table, 1),
        "time": (cmd_time, 3),
        "retime": (cmd_retime, 2),
    }
    if argv and argv[0] == "doc" and len(argv) >= 4:
        return cmd_doc(argv[1], argv[2], argv[3:])
    if not argv or argv[0] not in commands or len(argv) - 1 != commands[argv[0]][1]:
        fail(__doc__)
    fn, _ = commands[argv[0]]
    fn(*argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
