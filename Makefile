# neurtl: `make demo` and `make test` work on a fresh Debian machine.
CARGO ?= cargo
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Each tool is also the name of its Debian package.
TOOLS := verilator iverilog yosys nextpnr-ice40 parallel ccache

.PHONY: all setup deps build demo test lint bench vs-peers fuzz campaign mutants clean

all: build

# Simulators (Verilator, Icarus), synthesis tools (Yosys, nextpnr-ice40, for
# `neurtl synth`), GNU parallel (campaigns) and ccache, with which every
# Verilator build compiles its run-time library once, not once per design;
# from the distribution, only those missing.
setup:
	@missing=""; for t in $(TOOLS); do command -v $$t >/dev/null 2>&1 || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi
	@verilator --version; iverilog -V 2>/dev/null | head -n 1; yosys -V; nextpnr-ice40 --version 2>&1 | head -n 1

deps: setup

build: deps
	$(CARGO) build --release

demo: build
	./target/release/neurtl run examples/jet_tagger/model.json

# The whole suite: unit, property, snapshot, bad-input and the random-network
# RTL tests (NEURTL_FUZZ_NETS random MLPs through Verilator, Icarus and lint).
test: deps
	$(CARGO) test --workspace -- --test-threads 2

bench: build
	./target/release/neurtl bench examples/jet_tagger/model.json

# neurtl beside da4ml and alkaid on ../shared/bench and the re-typed jet
# tagger (a Python venv, pip, and up to half an hour of Yosys per model);
# writes docs/performance.md. Not part of `make test`.
vs-peers: build
	python3 bench/vs_peers/retype.py examples/jet_tagger/model.json bench/vs_peers/jet_tagger_trn_wrap.json
	bench/vs_peers/run.sh out/vs_peers

# Coverage-guided fuzzing (nightly toolchain, cargo-fuzz installed if
# missing): each target for FUZZ_SECONDS from the committed corpus, new
# inputs kept in out/fuzz/<target>. Crashes land in fuzz/artifacts/.
# Not part of `make test`, which replays the committed corpus instead.
FUZZ_SECONDS ?= 1800
FUZZ_TARGETS ?= model_json onnx_import compile_random
# Random networks through compile, the datapath interpreter, lint and
# Verilator, one job each on all cores (GNU parallel); run again to resume.
CAMPAIGN_DIR ?= out/campaign
NETWORKS ?= 5000
SEED ?= 1
campaign: build
	./target/release/neurtl campaign write $(CAMPAIGN_DIR) --networks $(NETWORKS) --seed $(SEED)
	$(CAMPAIGN_DIR)/run-local.sh || true
	./target/release/neurtl campaign merge $(CAMPAIGN_DIR)

fuzz:
	@command -v cargo-fuzz >/dev/null 2>&1 || $(CARGO) install cargo-fuzz
	cd fuzz && for t in $(FUZZ_TARGETS); do \
	  mkdir -p ../out/fuzz/$$t && \
	  $(CARGO) +nightly fuzz run -O -a $$t ../out/fuzz/$$t corpus/$$t -- \
	    -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=20 \
	    -rss_limit_mb=2048 -print_final_stats=1 || exit 1; \
	done

# Mutation testing (cargo-mutants, installed if missing), one module at a
# time into out/mutants/<module>; the tests and the profile are set in
# .cargo/mutants.toml, the reduced random-network counts here. Hours per
# module on 2 cores: MUTANTS_MODULES picks modules, MUTANTS_ARGS passes
# options such as --shard 1/4 or --iterate (skip what an earlier run in
# the same directory caught). Then the table: bench/mutants/table.sh.
MUTANTS_MODULES ?= src/fixed src/golden src/passes src/backend src/datapath
MUTANTS_ARGS ?=
mutants: deps
	@command -v cargo-mutants >/dev/null 2>&1 || $(CARGO) install --locked cargo-mutants
	for m in $(MUTANTS_MODULES); do \
	  NEURTL_DP_NETS=150 NEURTL_GOLDEN_NETS=100 NEURTL_FUZZ_NETS=6 \
	  NEURTL_FUZZ_CONVS=2 NEURTL_FUZZ_BNNS=4 \
	  $(CARGO) mutants -f "$$m/**" -o out/mutants/$$(basename $$m) \
	    --timeout 300 $(MUTANTS_ARGS) || true; \
	done
	bench/mutants/table.sh out/mutants

clean:
	$(CARGO) clean
	rm -rf build
