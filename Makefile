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
DEB_PACKAGES := libldns-dev ldnsutils bind9-dnsutils knot-dnsutils dnsperf nsd util-linux procps openssl
DEB_PACKAGES += $(shell command -v kubectl >/dev/null || echo kubernetes-client)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps build release run test bench clean

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

test: build
	CLUSTERDNS_BIN=$(CURDIR)/.build/debug/clusterdns $(SWIFT) test

# The query path in-process (fails if allocations per query rose above the checked-in counts),
# then the whole server against NSD with dnsperf, then cached upstream answers against Unbound
# (installed here only: the tests do not need it).
bench: release
	@dpkg -s unbound >/dev/null 2>&1 || { $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends unbound; }
	.build/release/QueryPathBenchmark
	Benchmarks/dnsperf/run.sh
	Benchmarks/forward/run.sh

clean:
	rm -rf .build
