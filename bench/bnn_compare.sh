#!/usr/bin/env bash
# The same binarized network through every binary-neuron target, side by
# side: latency and hardware counts from neurtl's report, and the generic
# gate count from Yosys (`synth -flatten`, no technology mapping; tl-cells
# hierarchically, see below). Yosys maps each threshold cell's behavioral
# body to gates like any other logic.
#
#   bench/bnn_compare.sh [MODEL] [OUT_DIR]
#
# Defaults: examples/bnn_digits/model.json, /tmp/neurtl-bnn-compare.
# Prints a Markdown table; Yosys logs stay in OUT_DIR/<target>/yosys.log.
set -euo pipefail
model=${1:-examples/bnn_digits/model.json}
out=${2:-/tmp/neurtl-bnn-compare}
neurtl=${NEURTL:-./target/release/neurtl}
mkdir -p "$out"
field() { # field FILE KEY: first integer value of "KEY": in a JSON file
    grep -o "\"$2\": [0-9]*" "$1" | head -1 | grep -o '[0-9]*$'
}
echo "| target | latency (cycles) | II | adders | comparators | register bits | threshold cells | cell depth | Yosys cells | Yosys time |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for t in mac fpga tl-cells tl-pe; do
    d="$out/$t"
    "$neurtl" compile "$model" -o "$d" --target "$t" --vectors 10 > /dev/null
    top=$(grep -o '"top": "[^"]*"' "$d/report.json" | head -1 | cut -d'"' -f4)
    start=$(date +%s)
    # The tl-cells netlist (tens of thousands of cell instances) does not
    # finish flattened synthesis in an hour; synthesized hierarchically,
    # each cell parametrization is mapped once and `stat -top` multiplies
    # it out. No optimization crosses cell boundaries, as in an ASIC flow
    # that keeps each threshold gate a cell.
    if [ "$t" = tl-cells ]; then script="synth -top $top; stat -top $top"; else script="synth -flatten -top $top; stat"; fi
    yosys -q -l "$d/yosys.log" -p "read_verilog $d/rtl/*.v; $script" > /dev/null
    secs=$(( $(date +%s) - start ))
    cells=$(grep "Number of cells:" "$d/yosys.log" | tail -1 | grep -o '[0-9]*$')
    r="$d/report.json"
    tl=$(field "$r" tl_cells)
    # tl-pe: the PE module's cells times the number of PEs.
    if [ "$t" = tl-pe ]; then tl=$(field "$r" cells); fi
    echo "| $t | $(field "$r" latency_cycles) | $(field "$r" initiation_interval) | $(field "$r" adders) | $(field "$r" comparators) | $(field "$r" register_bits) | $tl | $(field "$r" tl_depth) | $cells | ${secs} s |"
done
