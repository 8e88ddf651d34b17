# clusterdns — the commands the README promises. `make run` and `make test` work on a fresh
# Debian machine with Swift: they install the system packages they need first.

SWIFT ?= swift
LISTEN ?= --listen 127.0.0.1:5353 --listen '[::1]:5353'
# /health, /ready and /metrics on loopback for a local run (in a cluster: all interfaces).
OPS ?= --health-listen 127.0.0.1:8080 --ready-listen 127.0.0.1:8181 --metrics-listen 127.0.0.1:9153
ZONES ?= zones
# libldns for zone files and the test decoder; dig, kdig, drill as real clients in tests;
# openssl for the fake API server's certificates; NSD and dnsperf for `make bench`. kubectl
# (Debian's kubernetes-client unless one is on PATH) checks the fake API server and deploy/.
DEB_PACKAGES := libldns-dev ldnsutils bind9-dnsutils knot-dnsutils dnsperf nsd util-linux procps openssl valgrind binutils
DEB_PACKAGES += $(shell command -v kubectl >/dev/null || echo kubernetes-client)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps build release run test querycost bench fuzz fuzz-build leakcheck clean

deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

run: release
	.build/release/clusterdns serve --zones $(ZONES) $(LISTEN) $(OPS)

# The tests are built in release, beside the binary `make release` ships, and run against it:
# the end-to-end suites start that very server, and the in-process ones run at its speed (half
# the debug build's time). Nothing needs @testable: what tests reach inside is `package`.
test: deps
	$(SWIFT) build -c release --build-tests
	CLUSTERDNS_BIN=$(CURDIR)/.build/release/clusterdns $(SWIFT) test -c release --skip-build
	$(MAKE) querycost

# Issue 12: the whole handler path (datagram in, reply out, over loopback, query metrics on) in
# the release build under callgrind: heap allocations per query on the event loop must equal
# Benchmarks/QueryPath/cost.json exactly, instructions within 10 %. Valgrind 3.19 cannot read
# Swift's DWARF 5, so it runs a copy without debug info.
querycost: deps
	$(SWIFT) build -c release --product QueryPathBenchmark
	@mkdir -p .build/querycost && rm -f .build/querycost/cg.out*
	objcopy --strip-debug .build/release/QueryPathBenchmark .build/querycost/QueryPathBenchmark
	QUERYPATH_CALLGRIND_DIR=$(CURDIR)/.build/querycost valgrind -q --tool=callgrind --separate-threads=yes --dump-instr=no \
	  --callgrind-out-file=$(CURDIR)/.build/querycost/cg.out .build/querycost/QueryPathBenchmark --check $(QUERYCOST_ARGS)

# The handler path's wall time and allocations per query (informative; `querycost` checks them),
# then the whole server against NSD with dnsperf, then cached upstream answers against Unbound
# (installed here only: the tests do not need it).
bench: release
	@for p in unbound knot; do dpkg -s $$p >/dev/null 2>&1 || { $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$p; }; done
	.build/release/QueryPathBenchmark
	$(MAKE) querycost
	Benchmarks/dnsperf/run.sh
	Benchmarks/forward/run.sh

# Issue 14: each libFuzzer target (Fuzz/) for FUZZ_SECONDS, one after another, from the checked-in
# seeds. New inputs go to fuzz-out/<target>/corpus, crashes to fuzz-out/<target>/crashes (both
# gitignored); any crash fails the run. A crash input belongs in Fuzz/regressions/<target>/,
# where `make test` replays it. FUZZ_ARGS passes libFuzzer options (e.g. -jobs=2 -workers=2).
# Leak detection is off: LeakSanitizer cannot follow Swift's pointers packed in enum spare bits
# (it reports the static snapshot as leaked), and libldns leaks the SOA of a zone file that fails
# to parse later on (a known cost, not ours to fix here). Swift's backtracer is off: under ASan
# it trips over its own memory reads and hides the trap's message; libFuzzer prints the stack.
FUZZ_SECONDS ?= 300
FUZZ_ARGS ?=
FUZZ_OUT ?= fuzz-out
FUZZ_TARGETS ?= wire:FuzzWire query:FuzzQuery zonefile:FuzzZoneFile manifest:FuzzManifest watch:FuzzWatch index:FuzzIndex
# lld: gold fails on libFuzzer's objects next to SwiftPM's `--defsym main=` (an internal error).
FUZZ_BUILD := -c release --scratch-path .build-fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING \
  -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld

fuzz-build: deps
	@for t in $(FUZZ_TARGETS); do $(SWIFT) build $(FUZZ_BUILD) --product $${t##*:} || exit 1; done

fuzz: fuzz-build
	@bin=$$($(SWIFT) build $(FUZZ_BUILD) --show-bin-path); failed=""; \
	for t in $(FUZZ_TARGETS); do \
	  name=$${t%%:*}; product=$${t##*:}; out=$(FUZZ_OUT)/$$name; \
	  mkdir -p $$out/corpus $$out/crashes; \
	  echo "fuzz $$name: $(FUZZ_SECONDS) s"; \
	  dict=""; [ -f Fuzz/$$name.dict ] && dict=-dict=Fuzz/$$name.dict; \
	  saved=Fuzz/corpus/$$name; [ -d Fuzz/regressions/$$name ] && saved="$$saved Fuzz/regressions/$$name"; \
	  SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 $$bin/$$product -max_total_time=$(FUZZ_SECONDS) -timeout=10 -max_len=4096 -print_final_stats=1 $$dict \
	    -artifact_prefix=$$out/crashes/ $(FUZZ_ARGS) $$out/corpus $$saved \
	    2>$$out/log || { failed="$$failed $$name"; tail -40 $$out/log; }; \
	  grep -E '^stat::(number_of_executed_units|peak_rss_mb)' $$out/log | sed "s/^/  $$name /"; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: failures in$$failed (inputs in $(FUZZ_OUT)/*/crashes/)"; exit 1; fi

# Issue 14: the test suite under LeakSanitizer, in-process and with every server it starts.
leakcheck: deps
	Tests/leakcheck.sh

clean:
	rm -rf .build .build-fuzz
