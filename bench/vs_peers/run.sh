#!/usr/bin/env bash
# neurtl beside da4ml 0.6.0 and alkaid 0.8.2 on the same networks: every
# design is built, checked bit for bit against neurtl's golden model and
# synthesized with one Yosys script; one Markdown table per network goes
# to standard output, OUT_DIR/results.md and docs/performance.md.
#
#   bench/vs_peers/run.sh OUT_DIR [MODEL.json...]
#
# Default models: ../shared/bench/jsc_rand4.json and jsc_rand8.json, and
# the trained jet tagger re-typed to trn/wrap for the peers,
# bench/vs_peers/jet_tagger_trn_wrap.json (made by retype.py from
# examples/jet_tagger/model.json). Run from the repository root; pass
# paths relative to it so that the command recorded in
# docs/performance.md carries no machine's paths.
#
# Environment:
#   VS_PEERS_VENV    the Python venv for the peers (bench/vs_peers/.venv)
#   VS_PEERS_INPUTS  input vectors, real values (../shared/bench/x.csv)
#   VS_PEERS_DOC     where the report goes (docs/performance.md; empty: none)
#   NEURTL           the neurtl binary (./target/release/neurtl)
#   VS_PEERS_REPS    how many times each generator is timed (5)
#
# Yosys runs one design at a time, never in parallel: a synth_xilinx of
# these designs takes minutes and the machine may be shared. A design
# whose script and Verilog are unchanged since its last synthesis in
# OUT_DIR is not synthesized again, so an interrupted run can be resumed.
set -euo pipefail

usage="usage: bench/vs_peers/run.sh OUT_DIR [MODEL.json...]"
out=${1:?$usage}
shift
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(../shared/bench/jsc_rand4.json ../shared/bench/jsc_rand8.json
    bench/vs_peers/jet_tagger_trn_wrap.json)
here=bench/vs_peers
venv=${VS_PEERS_VENV:-$here/.venv}
inputs=${VS_PEERS_INPUTS:-../shared/bench/x.csv}
doc=${VS_PEERS_DOC-docs/performance.md}
neurtl=${NEURTL:-./target/release/neurtl}
reps=${VS_PEERS_REPS:-5}
command_line="$here/run.sh $out ${models[*]}"
# The machine may be shared: the load says how far to trust the times.
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

die() { echo "vs_peers: $*" >&2; exit 1; }

[ -f Cargo.toml ] && [ -d "$here" ] || die "run from the repository root"
# Check every argument before minutes of work are spent.
for m in "${models[@]}"; do
    [ -f "$m" ] || die "model file not found: $m"
done
names=()
for m in "${models[@]}"; do names+=("$(basename "$m" .json)"); done
[ "$(printf '%s\n' "${names[@]}" | sort -u | wc -l)" -eq ${#models[@]} ] ||
    die "two models have the same file name; their results would share a folder"
[ -f "$inputs" ] || die "input vectors not found: $inputs"
[[ $reps =~ ^[1-9][0-9]*$ ]] || die "VS_PEERS_REPS must be a positive count, not '$reps'"
command -v yosys > /dev/null || die "yosys not found (make setup installs it)"
command -v verilator > /dev/null || die "verilator not found (make setup installs it)"
command -v python3 > /dev/null || die "python3 not found"
mkdir -p "$out"

# --- the peers' Python, pinned versions, in a venv of their own ---------
if ! "$venv/bin/python" -c 'import da4ml, alkaid, numpy' 2> /dev/null ||
    [ "$("$venv/bin/python" -c 'import da4ml, alkaid; print(da4ml.__version__, alkaid.__version__)')" != "0.6.0 0.8.2" ]; then
    echo "== installing da4ml 0.6.0 and alkaid 0.8.2 into $venv"
    python3 -m venv "$venv" || die "could not create the venv $venv"
    "$venv/bin/pip" install -q da4ml==0.6.0 alkaid==0.8.2 numpy ||
        die "pip could not install da4ml==0.6.0 alkaid==0.8.2 numpy"
fi
py() { "$venv/bin/python" "$here/peers.py" "$@"; }

echo "== building neurtl"
cargo build --release -q || die "cargo build failed"

# --- synthesis: the script of `neurtl synth --device xilinx` --------
# Written out here rather than calling `neurtl synth` so that the peers'
# designs get the very same script. The LUT6_2 timing arcs matter only
# where a LUT6_2 is instantiated (neurtl's ternary adders); Yosys' own
# library has none, and reading them changes nothing elsewhere.
synth() {
    local dir=$1 top=$2
    shift 2
    cp rtl/sta/LUT6_2.v "$dir/synth-lut6_2.v"
    cat > "$dir/synth.ys" << EOF
read_verilog $*
synth_xilinx -flatten -top $top
tee -q -o synth-stat.json stat -json
stat
read_verilog -lib -specify +/xilinx/cells_sim.v
read_verilog -lib -specify -overwrite synth-lut6_2.v
tee -q -o synth-sta.txt sta
EOF
    # The key of this synthesis: the script and every file it reads.
    local key
    key=$(cd "$dir" && cat synth.ys synth-lut6_2.v "$@" | sha256sum | cut -d' ' -f1)
    if [ -f "$dir/synth.key" ] && [ "$(cat "$dir/synth.key")" = "$key" ] &&
        [ -s "$dir/synth-stat.json" ] && [ -s "$dir/synth-sta.txt" ]; then
        echo "   $dir: unchanged since its last synthesis, kept"
        return
    fi
    rm -f "$dir/synth.key"
    local t0=$EPOCHREALTIME
    # nice: synthesis time is not a measured figure, and the machine is shared.
    (cd "$dir" && nice -n 10 yosys -q -l synth-yosys.log -s synth.ys) ||
        die "yosys failed on $dir (see $dir/synth-yosys.log)"
    echo "$key" > "$dir/synth.key"
    echo "   $dir: $(awk "BEGIN { printf \"%.0f\", $EPOCHREALTIME - $t0 }") s of Yosys"
}

# The wall time of one `neurtl compile MODEL -o DIR ARGS...`, in seconds.
time_compile() {
    local m=$1 dir=$2
    shift 2
    rm -rf "$dir"
    local t0=$EPOCHREALTIME
    "$neurtl" compile "$m" -o "$dir" "$@" > /dev/null || die "neurtl compile $* failed on $m"
    awk "BEGIN { print $EPOCHREALTIME - $t0 }"
}

# Empty a design folder of an earlier run, so that no stale Verilog is
# read, but keep its synthesis files: synth() reuses them when the new
# Verilog is byte-identical.
fresh() {
    [ -d "$1" ] || return 0
    find "$1" -mindepth 1 -maxdepth 1 ! -name 'synth*' -exec rm -rf {} +
}

for m in "${models[@]}"; do
    name=$(basename "$m" .json)
    d=$out/$name
    mkdir -p "$d"
    for sub in "$d"/*/; do fresh "$sub"; done
    # the matched row is made after the peers' synthesis, from their figures
    rm -f "$d/neurtl-matched.json"
    echo "== $name"

    echo "-- neurtl: golden model, generation time, Verilator check"
    "$neurtl" eval "$m" --inputs "$inputs" -o "$d/golden.csv" > /dev/null ||
        die "neurtl eval failed on $m"
    # Generation alone, timed as a command; the run below also simulates.
    seconds=$(time_compile "$m" "$d/neurtl-compile")
    # A mismatch makes `neurtl run` fail: keep going so the table shows it.
    "$neurtl" run "$m" -o "$d/neurtl" --inputs "$inputs" > "$d/neurtl-run.log" 2>&1 ||
        echo "   neurtl run failed, see $d/neurtl-run.log"
    grep -E '^(latency|vectors|mismatches)' "$d/neurtl-run.log" | sed 's/^/   /' || true
    py neurtl "$d" "$d/neurtl-run.log" "$seconds"

    echo "-- peers: build, emulate, compare"
    py build "$m" "$inputs" "$d/golden.csv" "$d"

    echo "-- Yosys, one design at a time"
    while IFS=$'\t' read -r -a design; do
        synth "$d/${design[0]}" "${design[@]:1}"
    done < <(py designs "$d")

    echo "-- neurtl at da4ml's stage time and cycles, ternary adders"
    read -r period cycles < <(py clock "$d" da4ml)
    matched=(--device xilinx --adders ternary --clock "${period}ns" --latency "$cycles")
    echo "${matched[*]}" > "$d/matched.args"
    seconds=$(time_compile "$m" "$d/neurtl-matched-compile" "${matched[@]}")
    "$neurtl" run "$m" -o "$d/neurtl-matched" --inputs "$inputs" "${matched[@]}" \
        > "$d/neurtl-matched-run.log" 2>&1 ||
        echo "   neurtl run failed, see $d/neurtl-matched-run.log"
    grep -E '^(latency|vectors|mismatches)' "$d/neurtl-matched-run.log" | sed 's/^/   /' || true
    py matched "$d" "$d/neurtl-matched-run.log" "$seconds" "${matched[*]}"
    while IFS=$'\t' read -r -a design; do
        [ "${design[0]}" != neurtl-matched ] || synth "$d/${design[0]}" "${design[@]:1}"
    done < <(py designs "$d")

done

# --- generation times: every generator again, interleaved ---------------
# The builds above timed each generator once, between minutes of Yosys;
# these runs come back to back, so that all designs see the same machine,
# and each design keeps its fastest run (peers.py says why).
echo "== generation times, $reps runs of each generator, interleaved"
for ((rep = 2; rep <= reps; rep++)); do
    for m in "${models[@]}"; do
        d=$out/$(basename "$m" .json)
        py time "$d" neurtl "$(time_compile "$m" "$d/neurtl-compile")"
        read -r -a matched < "$d/matched.args"
        py time "$d" neurtl-matched "$(time_compile "$m" "$d/neurtl-matched-compile" "${matched[@]}")"
        py retime "$m" "$d"
    done
done
for m in "${models[@]}"; do
    d=$out/$(basename "$m" .json)
    py table "$d" > "$d/table.md"
done

# --- the report ---------------------------------------------------------
# The commit measured; a work tree that differs from it in neurtl's own
# files is said so, since then the commit alone does not reproduce it.
commit=$(git rev-parse --short HEAD)
git diff --quiet HEAD -- src rtl templates testbenches Cargo.toml Cargo.lock ||
    commit="$commit (with local changes)"
{
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- neurtl: $("$neurtl" --version), commit $commit"
    echo "- da4ml $("$venv/bin/python" -c 'import da4ml; print(da4ml.__version__)')," \
        "alkaid $("$venv/bin/python" -c 'import alkaid; print(alkaid.__version__)')," \
        "numpy $("$venv/bin/python" -c 'import numpy; print(numpy.__version__)')"
    echo "- $(yosys -V), $(verilator --version)"
    echo "- inputs: $inputs, $(wc -l < "$inputs") vectors"
    echo "- machine: $(nproc) cores; load average $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
    echo "- command: $command_line"
} > "$out/versions.txt"
py doc "$out" "$out/versions.txt" "${names[@]}" > "$out/results.md"
cat "$out/results.md"
if [ -n "$doc" ]; then
    cp "$out/results.md" "$doc"
    echo "== wrote $doc"
fi
