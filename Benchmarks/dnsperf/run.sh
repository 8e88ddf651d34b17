#!/usr/bin/env bash
# make bench: clusterdns against NSD and Knot on the same synthetic cluster, in one run, over UDP
# (hits, mix) and TCP (mix).
# Each server is pinned to CPU 0 and dnsperf to CPU 1; the figure that ranks servers is server CPU
# time per answered query (utime+stime from /proc over the run), since dnsperf saturates first.
set -euo pipefail
cd "$(dirname "$0")/../.."
SERVICES=${SERVICES:-10000}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
OUT=${OUT:-$(mktemp -d /tmp/clusterdns-bench.XXXXXX)}
BIN=.build/release/clusterdns
PORT_C=${PORT_C:-15353}
PORT_N=${PORT_N:-15354}
PORT_Q=${PORT_Q:-15355}
PORT_K=${PORT_K:-15356}

python3 Benchmarks/dnsperf/gen.py "$OUT" "$SERVICES" "${ENDPOINTS_PER_HEADLESS:-10}"
# The same records as an RFC 1035 zone for NSD, printed by clusterdns itself.
"$BIN" check "$OUT/zones" | awk -v out="$OUT" '
  /^; zone cluster.local/ {f = out "/cluster.local.zone"}
  /^; zone in-addr.arpa/ {f = out "/in-addr.arpa.zone"}
  /^; zone ip6.arpa/ {f = out "/ip6.arpa.zone"}
  /^; zone/ && !/cluster.local|in-addr.arpa|ip6.arpa/ {f = ""}
  f != "" && !/^;/ {print > f}'

. Benchmarks/dnsperf/measure.sh
nsd_conf "$PORT_N" cluster.local in-addr.arpa ip6.arpa > "$OUT/nsd.conf"
knot_conf "$PORT_K" cluster.local in-addr.arpa ip6.arpa > "$OUT/knot.conf"

# clusterdns as deployed (query metrics recorded, /metrics on a loopback port), and with metrics
# off (no /metrics listener: nothing recorded on the query path), to show what recording costs.
OPS="--health-listen off --ready-listen off --lameduck 0"
setsid taskset -c 0 "$BIN" serve --zones "$OUT/zones" --upstream off --listen 127.0.0.1:$PORT_C --log-level warning $OPS --metrics-listen 127.0.0.1:0 &
CPID=$!
setsid taskset -c 0 "$BIN" serve --zones "$OUT/zones" --upstream off --listen 127.0.0.1:$PORT_Q --log-level warning $OPS --metrics-listen off &
QPID=$!
setsid taskset -c 0 nsd -d -c "$OUT/nsd.conf" &
NPID=$!
setsid taskset -c 0 knotd -c "$OUT/knot.conf" 2>"$OUT/knot.log" &
KPID=$!
trap 'kill -- -$CPID -$QPID -$NPID -$KPID 2>/dev/null || true; wait 2>/dev/null || true' EXIT
for i in $(seq 1 100); do
  dig @127.0.0.1 -p $PORT_C +short +time=1 +tries=1 dns-version.cluster.local TXT >/dev/null 2>&1 \
    && dig @127.0.0.1 -p $PORT_Q +short +time=1 +tries=1 dns-version.cluster.local TXT >/dev/null 2>&1 \
    && dig @127.0.0.1 -p $PORT_N +short +time=1 +tries=1 cluster.local SOA >/dev/null 2>&1 \
    && [ -n "$(dig @127.0.0.1 -p $PORT_K +short +time=1 +tries=1 cluster.local SOA 2>/dev/null)" ] && break
  sleep 0.2
done

kill -0 $CPID 2>/dev/null && kill -0 $QPID 2>/dev/null && kill -0 $NPID 2>/dev/null && kill -0 $KPID 2>/dev/null \
  || { echo "a server did not start (port taken?)" >&2; cat "$OUT/nsd.log" "$OUT/knot.log" >&2 2>/dev/null; exit 1; }
echo "records: $(grep -c . "$OUT/cluster.local.zone") forward, $(grep -c . "$OUT/in-addr.arpa.zone") reverse"
printf "%-11s %-9s %12s %10s %14s\n" server load "queries/s" lost "CPU µs/query"
: > "$OUT/results"
# Rounds with the order rotated: whichever server is measured first in a run pays for a cold
# machine (seen: up to 25 %), so each figure is the median over ROUNDS positions.
ROUNDS=${ROUNDS:-3}
servers=("clusterdns $CPID $PORT_C" "no-metrics $QPID $PORT_Q" "nsd $NPID $PORT_N" "knot $KPID $PORT_K")
for round in $(seq 0 $((ROUNDS - 1))); do
  for load in hits mix mix-tcp; do
    for i in 0 1 2 3; do
      # shellcheck disable=SC2086
      MODE=$([ "$load" = mix-tcp ] && echo tcp || echo udp) measure ${servers[$(((i + round) % 4))]} "$OUT/${load%-tcp}.txt"
    done
  done
done
# Medians per server and load: CPU µs per query ($3) and queries per second ($4).
awk 'function median(k, col,   m, i, j, t, a) {
       m = n[k]; for (i = 1; i <= m; i++) a[i] = (col == 3 ? cpu[k, i] : qps[k, i])
       for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) {t = a[i]; a[i] = a[j]; a[j] = t}
       return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
     }
     {k = $1 " " $2; n[k]++; cpu[k, n[k]] = $3; qps[k, n[k]] = $4}
  END {
    split("hits mix mix-tcp", loads, " ")
    for (l = 1; l <= 3; l++) {
      load = loads[l]
      c = median("clusterdns " load, 3); q = median("no-metrics " load, 3); s = median("nsd " load, 3); k = median("knot " load, 3)
      printf "median %-7s CPU µs/query: clusterdns %.2f, no-metrics %.2f, nsd %.2f, knot %.2f\n", load, c, q, s, k
      printf "ratio  %-7s clusterdns/nsd CPU per query: %.2f, clusterdns/knot: %.2f, metrics on/off: %.3f\n", load, c / s, c / k, c / q
      printf "ratio  %-7s clusterdns/knot queries per second: %.2f\n", load, median("clusterdns " load, 4) / median("knot " load, 4)
    }
  }' "$OUT/results"
# The latency tail at a load every server carries (LATENCY_QPS, default 20,000/s; issue 12: p99
# at 20k qps ≤ NSD's): dnsperf paced, every reply's latency printed (-v), p50/p99/p99.9 over
# LATENCY_SECONDS per server and load, LATENCY_ROUNDS rounds with the order rotated as above;
# the median of each figure over the rounds (one run's tail on this machine is mostly noise).
LATENCY_QPS=${LATENCY_QPS:-20000}
LATENCY_SECONDS=${LATENCY_SECONDS:-5}
LATENCY_ROUNDS=${LATENCY_ROUNDS:-3}
latency() {
  local name=$1 port=$3 file=$4 load=$5
  taskset -c 1 dnsperf -s 127.0.0.1 -p "$port" -d "$file" -l "$LATENCY_SECONDS" -Q "$LATENCY_QPS" -c 4 -q 500 -v 2>/dev/null \
    | awk '/^> / {print $NF * 1000}' | sort -g \
    | awk -v s="$name" -v l="$load" '{v[NR] = $1} END {
        if (NR > 0) printf "%s %s %.3f %.3f %.3f %d\n", s, l, v[int(NR * 0.5) + 1], v[int(NR * 0.99) + 1], v[int(NR * 0.999) + 1], NR
      }' >>"$OUT/latency"
}
if [ "$LATENCY_SECONDS" -gt 0 ]; then
  : >"$OUT/latency"
  for round in $(seq 0 $((LATENCY_ROUNDS - 1))); do
    for load in hits mix; do
      for i in 0 1 2 3; do
        # shellcheck disable=SC2086
        latency ${servers[$(((i + round) % 4))]} "$OUT/$load.txt" "$load"
      done
    done
  done
  echo "latency at ${LATENCY_QPS} queries/s, UDP, median of ${LATENCY_ROUNDS} runs of ${LATENCY_SECONDS} s:"
  awk 'function median(k, col,   m, i, j, t, a) {
         m = n[k]; for (i = 1; i <= m; i++) a[i] = v[k, i, col]
         for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) {t = a[i]; a[i] = a[j]; a[j] = t}
         return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
       }
       {k = $1 " " $2; n[k]++; v[k, n[k], 3] = $3; v[k, n[k], 4] = $4; v[k, n[k], 5] = $5}
       END {
         split("hits mix", loads, " "); split("clusterdns no-metrics nsd knot", names, " ")
         for (l = 1; l <= 2; l++) for (s = 1; s <= 4; s++) {
           k = names[s] " " loads[l]
           if (n[k]) printf "%-11s %-5s p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms\n", names[s], loads[l], median(k, 3), median(k, 4), median(k, 5)
         }
         for (l = 1; l <= 2; l++) printf "ratio  %-5s clusterdns/nsd p99 at %s/s: %.2f\n", loads[l], qps, median("clusterdns " loads[l], 4) / median("nsd " loads[l], 4)
       }' qps="$LATENCY_QPS" "$OUT/latency"
fi
rss() {
  local total=0 p r
  for p in $1 $(descendants "$1"); do r=$(awk '/VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null); total=$((total + ${r:-0})); done
  echo "$((total / 1024)) MB"
}
pss() {
  local total=0 p r
  for p in $1 $(descendants "$1"); do r=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null); total=$((total + ${r:-0})); done
  echo "$((total / 1024)) MB"
}
echo "resident memory: clusterdns $(rss $CPID), no-metrics $(rss $QPID), nsd $(rss $NPID), knot $(rss $KPID) (all processes)"
echo "proportional set size: clusterdns $(pss $CPID), nsd $(pss $NPID), knot $(pss $KPID)"
