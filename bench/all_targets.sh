#!/usr/bin/env bash
# Every example and every ONNX fixture through Verilator on every target:
# `neurtl run` compiles it, simulates it against the golden model and
# fails on any mismatch or on a measured latency or II that differs from
# the report. Prints one Markdown row per (model, target).
#
#   bench/all_targets.sh [OUT_DIR]
#
# The examples use their test sets; the fixtures random vectors. Targets
# other than fpga change only binarized layers, but every model runs on
# every target so a target that mishandles a plain layer shows up too.
set -euo pipefail
out=${1:-/tmp/neurtl-all-targets}
neurtl=${NEURTL:-./target/release/neurtl}
mkdir -p "$out"
echo "| model | target | latency | II | vectors | mismatches | seconds |"
echo "|---|---|---|---|---|---|---|"
for m in examples/*/model.json tests/fixtures/onnx/*.onnx; do
    dir=$(dirname "$m")
    data=()
    if [ -f "$dir/x_test.csv" ]; then data=(--inputs "$dir/x_test.csv"); fi
    name=$(basename "$(dirname "$m")")
    case "$m" in *.onnx) name=$(basename "$m" .onnx) ;; esac
    for t in fpga mac tl-cells tl-pe; do
        log="$out/$name-$t.log"
        start=$(date +%s)
        if "$neurtl" run "$m" --target "$t" "${data[@]}" --vectors 1000 -o "$out/$name-$t" > "$log" 2>&1; then
            status=ok
        elif grep -q "found no binary-neuron layer to fold" "$log"; then
            # tl-pe folds binary neurons only and says so; not a failure
            echo "| $name | $t | not applicable: no binary-neuron layer to fold | | | | |"
            continue
        else
            status=FAILED
        fi
        secs=$(( $(date +%s) - start ))
        field() { grep -m1 "^$1" "$log" | sed "s/^$1 *//" | cut -d' ' -f1 || true; }
        lat=$(grep -m1 '^latency' "$log" | grep -o 'measured [0-9a-z]*' | cut -d' ' -f2 || true)
        ii=$(grep -m1 '^II' "$log" | grep -o 'measured [0-9a-z]*' | cut -d' ' -f2 || true)
        vec=$(field vectors); mis=$(field mismatches)
        echo "| $name | $t | ${lat:-?} | ${ii:-?} | ${vec:-?} | ${mis:-?} ($status) | $secs |"
    done
done
