#!/usr/bin/env bash
# make bench-forward: answers from the cache for names outside the cluster, clusterdns against
# Unbound (Debian `unbound`) in one run. Both forward to the same NSD on loopback, are warmed
# until every name is cached, pinned to CPU 0 with dnsperf on CPU 1; the figure that ranks them
# is server CPU time per answered query (see Benchmarks/dnsperf/measure.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
NAMES=${NAMES:-2000}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
ROUNDS=${ROUNDS:-3}
OUT=${OUT:-$(mktemp -d /tmp/clusterdns-fwd-bench.XXXXXX)}
BIN=.build/release/clusterdns
PORT_C=${PORT_C:-15363}
PORT_U=${PORT_U:-15364}
PORT_N=${PORT_N:-15365}
command -v unbound >/dev/null || { echo "needs unbound (apt-get install unbound)" >&2; exit 1; }

# The upstream: NAMES A records with a day's TTL, so nothing expires during the run.
{
  echo '$ORIGIN ext.test.'
  echo '$TTL 86400'
  echo '@ IN SOA ns.ext.test. admin.ext.test. 1 3600 600 86400 3600'
  echo '@ IN NS ns.ext.test.'
  echo 'ns IN A 127.0.0.1'
  for i in $(seq 1 "$NAMES"); do echo "host$i IN A 198.18.$((i / 256)).$((i % 256))"; done
} > "$OUT/ext.test.zone"
: > "$OUT/names.txt"
for i in $(seq 1 "$NAMES"); do echo "host$i.ext.test A" >> "$OUT/names.txt"; done

. Benchmarks/dnsperf/measure.sh
nsd_conf "$PORT_N" ext.test > "$OUT/nsd.conf"

# Unbound as a caching forwarder, one thread, no DNSSEC validation (clusterdns does none either).
cat > "$OUT/unbound.conf" <<CONF
server:
  interface: 127.0.0.1@$PORT_U
  num-threads: 1
  username: ""
  chroot: ""
  directory: "$OUT"
  pidfile: "$OUT/unbound.pid"
  logfile: "$OUT/unbound.log"
  use-syslog: no
  verbosity: 0
  do-not-query-localhost: no
  module-config: "iterator"
  access-control: 127.0.0.0/8 allow
  domain-insecure: "ext.test"
  local-zone: "test." nodefault
  prefetch: yes
  minimal-responses: yes
remote-control:
  control-enable: no
forward-zone:
  name: "ext.test"
  forward-addr: 127.0.0.1@$PORT_N
CONF

setsid taskset -c 1 nsd -d -c "$OUT/nsd.conf" &
NPID=$!
# clusterdns as deployed, with metrics; the cache kept long enough that every name stays in it.
setsid taskset -c 0 "$BIN" serve --listen 127.0.0.1:$PORT_C --upstream 127.0.0.1:$PORT_N --cache-ttl 3600 \
  --health-listen off --ready-listen off --metrics-listen 127.0.0.1:0 --lameduck 0 --log-level warning &
CPID=$!
setsid taskset -c 0 unbound -d -c "$OUT/unbound.conf" &
UPID=$!
trap 'kill -- -$CPID -$UPID -$NPID 2>/dev/null || true; wait 2>/dev/null || true' EXIT
for i in $(seq 1 100); do
  dig @127.0.0.1 -p $PORT_N +short +time=1 +tries=1 host1.ext.test >/dev/null 2>&1 \
    && dig @127.0.0.1 -p $PORT_C +short +time=1 +tries=1 host1.ext.test | grep -q 198.18 \
    && dig @127.0.0.1 -p $PORT_U +short +time=1 +tries=1 host1.ext.test | grep -q 198.18 && break
  sleep 0.2
done
kill -0 $CPID 2>/dev/null && kill -0 $UPID 2>/dev/null && kill -0 $NPID 2>/dev/null \
  || { echo "a server did not start" >&2; cat "$OUT/unbound.log" "$OUT/nsd.log" >&2 2>/dev/null; exit 1; }

# Warm: every name once through each server (slowly: no upstream overload), then check a sample.
for port in $PORT_C $PORT_U; do
  taskset -c 1 dnsperf -s 127.0.0.1 -p $port -d "$OUT/names.txt" -n 1 -c 1 -q 20 >/dev/null 2>&1
done
for i in 1 $((NAMES / 2)) $NAMES; do
  for port in $PORT_C $PORT_U; do
    dig @127.0.0.1 -p $port +short "host$i.ext.test" | grep -q "^198.18" || { echo "host$i not answered on $port" >&2; exit 1; }
  done
done

echo "names: $NAMES cached, upstream NSD (pinned with dnsperf on CPU 1)"
printf "%-11s %-5s %12s %10s %14s\n" server load "queries/s" lost "CPU µs/query"
: > "$OUT/results"
servers=("clusterdns $CPID $PORT_C" "unbound $UPID $PORT_U")
for round in $(seq 0 $((ROUNDS - 1))); do
  for i in 0 1; do
    # shellcheck disable=SC2086
    measure ${servers[$(((i + round) % 2))]} "$OUT/names.txt"
  done
done
awk '{n[$1]++; v[$1, n[$1]] = $3}
  END {
    for (k in n) {
      m = n[k]; for (i = 1; i <= m; i++) a[i] = v[k, i]
      for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) {t = a[i]; a[i] = a[j]; a[j] = t}
      med[k] = (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
    }
    printf "median CPU µs/query: clusterdns %.2f, unbound %.2f\n", med["clusterdns"], med["unbound"]
    printf "ratio  clusterdns/unbound CPU per query: %.2f\n", med["clusterdns"] / med["unbound"]
  }' "$OUT/results"
