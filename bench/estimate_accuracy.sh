#!/usr/bin/env bash
# Estimated against synthesized resources: each model is compiled, given
# to `neurtl estimate`, and synthesized with Yosys `synth_xilinx -flatten`
# (7-series cells: LUT1-6, CARRY4, flip-flops, DSP48E1). Prints a Markdown
# table with the relative error of each estimate.
#
#   bench/estimate_accuracy.sh [OUT_DIR] [MODEL[:compile options]...]
#
# Default models: the ONNX fixtures, tests/models/tiny.json and the shared
# jet-tagger-shaped benchmarks when present. Yosys logs stay in
# OUT_DIR/<model>/yosys.log.
set -euo pipefail
out=${1:-/tmp/neurtl-estimate-accuracy}
shift || true
neurtl=${NEURTL:-./target/release/neurtl}
# shellcheck source=bench/cases.sh
. "$(dirname "$0")/cases.sh"
models=("$@")
if [ ${#models[@]} -eq 0 ]; then
    models=(tests/models/tiny.json tests/fixtures/onnx/*.onnx)
    for m in ../shared/bench/jsc_rand4.json; do [ -f "$m" ] && models+=("$m"); done
fi
mkdir -p "$out"
cells() { # cells LOG PATTERN: sum of the counts of cell types matching PATTERN
    awk -v p="$2" '/Printing statistics/ {s = 0} $1 ~ p && $2 ~ /^[0-9]+$/ {s += $2} END {print s + 0}' "$1"
}
err() { # err EST REAL: signed relative error in percent
    awk -v e="$1" -v r="$2" 'BEGIN { if (r == 0) print "n/a"; else printf "%+.1f %%", 100 * (e - r) / r }'
}
echo "| model | LUT est. | LUT Yosys | error | FF est. | FF Yosys | error | CARRY4 est. | CARRY4 Yosys | DSP | Yosys time |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for m in "${models[@]}"; do
    case_split "$m" "$out"
    d=$dir
    # shellcheck disable=SC2086
    "$neurtl" compile "$model" -o "$d" --vectors 10 $opts > /dev/null
    # shellcheck disable=SC2086
    "$neurtl" estimate "$model" --json $opts > "$d/estimate.json"
    top=$(grep -o '"top": "[^"]*"' "$d/report.json" | head -1 | cut -d'"' -f4)
    # REUSE_SYNTH=1 keeps an earlier synthesis of the same RTL (to refit
    # the model's constants without waiting for Yosys again).
    if [ "${REUSE_SYNTH:-0}" = 1 ] && [ -f "$d/yosys.secs" ] && cmp -s <(cat "$d"/rtl/*.v) "$d/rtl.synthesized"; then
        secs=$(cat "$d/yosys.secs")
    else
        start=$(date +%s)
        yosys -q -l "$d/yosys.log" -p "read_verilog $d/rtl/*.v; synth_xilinx -flatten -top $top; stat" > /dev/null
        secs=$(( $(date +%s) - start ))
        echo "$secs" > "$d/yosys.secs"
        cat "$d"/rtl/*.v > "$d/rtl.synthesized"
    fi
    lut=$(cells "$d/yosys.log" '^LUT([1-6]|6_2)$')
    ff=$(cells "$d/yosys.log" '^FD')
    carry=$(cells "$d/yosys.log" '^CARRY4$')
    dsp=$(cells "$d/yosys.log" '^DSP48')
    e="$d/estimate.json"
    el=$(num "$e" luts); ef=$(num "$e" flip_flops); ec=$(num "$e" carry4)
    echo "| $name | $el | $lut | $(err "$el" "$lut") | $ef | $ff | $(err "$ef" "$ff") | $ec | $carry | $dsp | ${secs} s |"
done
