#!/usr/bin/env bash
# The timing estimate against a router: each model is compiled, estimated
# on iCE40 (`neurtl estimate --device ice40`) and placed and routed with
# `neurtl synth --device ice40` (Yosys synth_ice40, nextpnr-ice40 on
# the hx8k, inside the serial wrapper). Prints a Markdown table of the
# estimated and routed Fmax and the relative error.
#
#   bench/timing_accuracy.sh [OUT_DIR] [MODEL[:compile options]...]
#
# Default: small models that fit an hx8k, with layer registers only and
# (tiny, wide) with adder trees cut every level. The random 8x8 layer with
# adder trees cut every level does not route on the hx8k: nextpnr was
# still congested after 16 minutes.
set -euo pipefail
out=${1:-/tmp/neurtl-timing-accuracy}
shift || true
neurtl=${NEURTL:-./target/release/neurtl}
# shellcheck source=bench/cases.sh
. "$(dirname "$0")/cases.sh"
cases=("$@")
if [ ${#cases[@]} -eq 0 ]; then
    python3 bench/random_layers.py "$out/models" > /dev/null
    for m in tests/models/tiny.json tests/fixtures/synth/wide.json; do
        cases+=("$m" "$m:--max-adder-depth 1")
    done
    cases+=("$out/models/rand_8x8_w8_x8.json")
fi
mkdir -p "$out"
echo "| model | options | Fmax est. (MHz) | Fmax nextpnr (MHz) | error | critical path est. (ns) |"
echo "|---|---|---|---|---|---|"
for c in "${cases[@]}"; do
    case_split "$c" "$out"
    m=$model d=$dir
    # shellcheck disable=SC2086
    "$neurtl" compile "$m" -o "$d" --vectors 10 $opts > /dev/null
    # shellcheck disable=SC2086
    "$neurtl" estimate "$m" --device ice40 --json $opts > "$d/estimate-ice40.json"
    "$neurtl" synth "$d" --device ice40 --json > "$d/synth.json"
    est=$(num "$d/estimate-ice40.json" achievable_mhz)
    path=$(num "$d/estimate-ice40.json" critical_path_ns)
    real=$(num "$d/synth.json" fmax_mhz)
    err=$(awk -v e="$est" -v r="$real" 'BEGIN { printf "%+.1f %%", 100 * (e - r) / r }')
    printf '| %s | %s | %.1f | %.1f | %s | %.2f |\n' "$name" "${opts:-}" "$est" "$real" "$err" "$path"
done
