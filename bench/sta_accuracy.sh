#!/usr/bin/env bash
# The Xilinx 7-series delay model against Yosys static timing: each case
# is compiled, synthesized with `neurtl synth --device xilinx`
# (synth_xilinx -flatten, then `sta` over the specify delays of Yosys'
# cells_sim.v: cell delays only, no routing, so a lower bound of the real
# path) and its estimated critical path set beside sta's. Prints a
# Markdown table; the model must never be below sta (ratio >= 1).
#
#   bench/sta_accuracy.sh OUT_DIR [MODEL[:compile options]...]
#
# A `--clock` among the options is also given to `neurtl synth`, so the
# estimate is of the same schedule. Default cases: the calibration set of
# docs/estimation.md (each synthesizes in under about two minutes). Yosys
# logs and sta's report stay in each case's folder (synth-yosys-xilinx.*).
set -euo pipefail
out=${1:?usage: bench/sta_accuracy.sh OUT_DIR [MODEL[:options]...]}
shift
neurtl=${NEURTL:-./target/release/neurtl}
# shellcheck source=bench/cases.sh
. "$(dirname "$0")/cases.sh"
cases=("$@")
if [ ${#cases[@]} -eq 0 ]; then
    python3 bench/random_layers.py "$out/models" > /dev/null
    r=$out/models
    cases=(
        tests/models/tiny.json "tests/models/tiny.json:--pipeline none"
        tests/fixtures/onnx/qonnx_mlp.onnx "tests/fixtures/onnx/qonnx_mlp.onnx:--pipeline layer"
        tests/fixtures/onnx/qonnx_trunc_v1.onnx tests/fixtures/onnx/bnn_tfc.onnx
        tests/fixtures/onnx/float_mlp_gemm.onnx "tests/fixtures/onnx/matmul_add.onnx:--pipeline layer"
        "$r/rand_8x8_w8_x8.json:--pipeline none" "$r/rand_16x16_w4_x8.json"
        "$r/rand_64x8_w5_x6.json:--pipeline layer"
    )
    for m in ../shared/bench/jsc_rand4.json; do
        [ -f "$m" ] && cases+=("$m" "$m:--pipeline layer")
    done
fi
mkdir -p "$out"
echo "| model | options | delay model (ns) | sta (ns) | model / sta | flip-flops est. / synth | LUTs est. / synth |"
echo "|---|---|---|---|---|---|---|"
for c in "${cases[@]}"; do
    case_split "$c" "$out"
    clock=$(echo "$opts" | grep -o -- '--clock[ =][^ ]*' | tr '=' ' ' | cut -d' ' -f2 || true)
    # shellcheck disable=SC2086
    "$neurtl" compile "$model" -o "$dir" --vectors 10 $opts > /dev/null
    "$neurtl" synth "$dir" --keep --json --clock "${clock:-200MHz}" > "$dir/synth.json"
    python3 - "$dir/synth.json" "$name" "${opts:-}" <<'PY'
import json, sys
rows = {r["quantity"]: r for r in json.load(open(sys.argv[1]))["comparison"]}
p, ff, lut = rows["critical_path_ns"], rows["flip_flops"], rows["luts"]
print(f"| {sys.argv[2]} | {sys.argv[3]} | {p['estimate']:.2f} | {p['synthesized']:.2f} "
      f"| {p['estimate'] / p['synthesized']:.2f} | {ff['estimate']:.0f} / {ff['synthesized']:.0f} "
      f"| {lut['estimate']:.0f} / {lut['synthesized']:.0f} |")
PY
done
