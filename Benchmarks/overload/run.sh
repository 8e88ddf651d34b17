#!/usr/bin/env bash
# Issue 14, overload: the release binary serving zones/ on loopback, every figure from one run.
#  1. two dnsperf clients flooding at full speed for FLOOD_SECONDS (default 60): resident memory
#     sampled every second (it must stay bounded: UDP drops, never queues), then a paced probe
#     2 s after the flood against one before it;
#  2. a flood (FORWARD_QPS, default 20,000/s) of distinct names forwarded to an upstream that
#     never answers, with --max-concurrent 100: the probe of a cluster name during it against the
#     unloaded one, and the excess answered SERVFAIL at once
#     (coredns_forward_max_concurrent_rejects_total; none once the upstream is known down);
#  3. 5,000 TCP connections opened at once: how many the server keeps (--max-tcp-connections
#     1000), and the UDP probe meanwhile.
# Timed figures are printed, not asserted: this machine is noisy (see the README).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-.build/release/clusterdns}
FLOOD_SECONDS=${FLOOD_SECONDS:-60}
FORWARD_SECONDS=${FORWARD_SECONDS:-30}
# The forwarded flood's rate: under the server's capacity, so the probe measures the cost of
# the flood rather than the queue any saturated server builds (a saturating flood is part 1).
FORWARD_QPS=${FORWARD_QPS:-20000}
PORT=${PORT:-15371}
METRICS=$((PORT + 1))
HOLE=$((PORT + 2))
OUT=$(mktemp -d /tmp/clusterdns-overload.XXXXXX)
PROBE="python3 Benchmarks/overload/probe.py"
NAME=web.shop.svc.cluster.local
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

$PROBE blackhole "$HOLE" & pids+=($!)
$BIN serve --zones zones --listen "127.0.0.1:$PORT" --upstream "127.0.0.1:$HOLE" --max-concurrent 100 \
  --health-listen off --ready-listen off --metrics-listen "127.0.0.1:$METRICS" --lameduck 0 2>"$OUT/server.log" &
srv=$!; pids+=($srv)
for _ in $(seq 100); do dig +short +time=1 +tries=1 -p "$PORT" @127.0.0.1 "$NAME" >/dev/null 2>&1 && break; sleep 0.1; done
rss() { awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$srv/status"; }
# The server's CPU seconds so far (user + system).
cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$srv/stat"; }
metric() { curl -s "http://127.0.0.1:$METRICS/metrics" | awk -v n="$1" '$1 == n {s += $2} END {print s + 0}'; }

cat > "$OUT/cluster.txt" <<Q
web.shop.svc.cluster.local A
api.shop.svc.cluster.local AAAA
_postgres._tcp.db.data.svc.cluster.local SRV
db-0.db.data.svc.cluster.local A
kubernetes.default.svc.cluster.local A
nope.shop.svc.cluster.local A
web.shop.svc.cluster.local.shop.svc.cluster.local A
10.10.96.10.in-addr.arpa PTR
Q
for i in $(seq 1 100000); do echo "f$i.nowhere.test A"; done > "$OUT/forward.txt"

echo "== 1. two clients flooding at full speed for ${FLOOD_SECONDS} s"
echo "unloaded probe: $($PROBE probe 127.0.0.1 "$PORT" "$NAME" 200 5)"
rss_before=$(rss)
for c in 1 2; do dnsperf -s 127.0.0.1 -p "$PORT" -d "$OUT/cluster.txt" -l "$FLOOD_SECONDS" -c 4 -q 2000 >"$OUT/flood$c.txt" 2>&1 & pids+=($!); done
peak=$rss_before
for _ in $(seq "$FLOOD_SECONDS"); do sleep 1; r=$(rss); [ "$r" -gt "$peak" ] && peak=$r; done
wait "${pids[-1]}" "${pids[-2]}" 2>/dev/null || true
for c in 1 2; do echo "client $c: $(grep -E 'Queries sent|Queries completed|Queries per second' "$OUT/flood$c.txt" | tr -s ' ' | tr '\n' ';')"; done
sleep 2
echo "probe 2 s after the flood: $($PROBE probe 127.0.0.1 "$PORT" "$NAME" 200 5)"
echo "resident: before $rss_before MB, peak during $peak MB, after $(rss) MB"

echo "== 2. forwarded names to a silent upstream, ${FORWARD_QPS}/s for ${FORWARD_SECONDS} s (--max-concurrent 100)"
echo "unloaded probe: $($PROBE probe 127.0.0.1 "$PORT" "$NAME" 200 5)"
rejects_before=$(metric coredns_forward_max_concurrent_rejects_total)
cpu_before=$(cpu)
dnsperf -s 127.0.0.1 -p "$PORT" -d "$OUT/forward.txt" -l "$FORWARD_SECONDS" -Q "$FORWARD_QPS" -c 4 -q 2000 -t 5 >"$OUT/forward-flood.txt" 2>&1 & fwd=$!; pids+=($fwd)
sleep 3
echo "cluster name during it: $($PROBE probe 127.0.0.1 "$PORT" "$NAME" 200 $((FORWARD_SECONDS - 8)))"
wait "$fwd" 2>/dev/null || true
echo "forward flood: $(grep -E 'Queries sent|Queries completed' "$OUT/forward-flood.txt" | tr -s ' ' | tr '\n' ';')"
echo "server CPU during it: $(awk -v a="$(cpu)" -v b="$cpu_before" 'BEGIN {printf "%.2f", a - b}') s"
echo "rejected over --max-concurrent: $(( $(metric coredns_forward_max_concurrent_rejects_total) - rejects_before ))"
echo "resident after: $(rss) MB"

echo "== 3. 5,000 TCP connections at once (--max-tcp-connections 1000)"
ulimit -n 20000
$PROBE tcp-hold 127.0.0.1 "$PORT" 5000 8 >"$OUT/tcp.txt" & hold=$!; pids+=($hold)
sleep 2
echo "open by the server's count while held: $(metric clusterdns_tcp_connections_open)"
echo "UDP probe meanwhile: $($PROBE probe 127.0.0.1 "$PORT" "$NAME" 200 4)"
wait "$hold" 2>/dev/null || true
echo "client side: $(cat "$OUT/tcp.txt")"
echo "resident at the end: $(rss) MB; server log: $OUT/server.log"
