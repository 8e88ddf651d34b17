#!/usr/bin/env bash
# `make leakcheck` (issue 14): the test suite under LeakSanitizer. The in-process suites run with
# the sanitizer preloaded into the test binary; the end-to-end suites start every clusterdns
# server under it (TestSupport/ServerProcess reads LEAKCHECK_PRELOAD and LEAKCHECK_DIR), and a
# server that leaks writes a report when it exits after SIGTERM. Any report fails the run.
#
# The sanitizer is GCC's standalone runtime (Debian's liblsan0), preloaded: Swift's own
# -sanitize=address build cannot leave leak detection on (see the Makefile's fuzz notes), and a
# preload checks the debug build the tests already use. Client tools (dig, kdig, NSD) are not
# preloaded: their leaks are not ours.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
# awk reads ldconfig's whole output: leaving at the first match would end ldconfig with SIGPIPE,
# which pipefail turns into a failure once the cache outgrows a pipe's buffer.
find_lsan() { ldconfig -p | awk '/liblsan\.so\.0 / && !found { found = $NF } END { print found }'; }
lsan=$(find_lsan)
if [ -z "$lsan" ]; then
  apt-get update -q && apt-get install -y -q liblsan0
  lsan=$(find_lsan)
fi
swift build --build-tests
tests=.build/debug/ClusterDNSPackageTests.xctest
reports=$(mktemp -d /tmp/leakcheck.XXXXXX)
status=0

echo "leakcheck: in-process suites with $lsan"
LD_PRELOAD="$lsan" LSAN_OPTIONS=exitcode=23 "$tests" --testing-library swift-testing --skip EndToEndTests || status=$?
if [ "$status" = 23 ]; then echo "leakcheck: the in-process suites leak (report above)"; fi

echo "leakcheck: end-to-end suites, every clusterdns server under LeakSanitizer (reports in $reports)"
LEAKCHECK_PRELOAD="$lsan" LEAKCHECK_DIR="$reports" "$tests" --testing-library swift-testing --filter EndToEndTests || status=$?
servers=$(ls "$reports" | wc -l)
if [ "$servers" != 0 ]; then
  echo "leakcheck: $servers server report(s):"
  cat "$reports"/*
  status=1
fi
[ "$status" = 0 ] && echo "leakcheck: no leak reported"
exit "$status"
