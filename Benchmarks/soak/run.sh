#!/usr/bin/env bash
# Issue 14, soak: the release server on loopback under SOAK_SECONDS (default 1800) of mixed
# query load (dnsperf, paced) while a manifest file is rewritten every 2 s (Services and
# addresses coming, changing and going). Resident memory is sampled every 30 s (a leak shows
# as growth); at the end a fresh server is started on the same directory and every name and
# type the directory serves, plus a missing name under each, is asked of both: every answer
# must be the same (SOA serials aside). Prints the figures; exits 1 on a differing answer.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-.build/release/clusterdns}
SOAK_SECONDS=${SOAK_SECONDS:-1800}
QPS=${QPS:-5000}
SERVICES=${SERVICES:-300}
PORT=${PORT:-15381}
FRESH=$((PORT + 1))
OUT=$(mktemp -d /tmp/clusterdns-soak.XXXXXX)
DIR=$OUT/zones
mkdir -p "$DIR"
cp zones/* "$DIR/"
python3 Benchmarks/soak/churn.py "$DIR/churn.yaml" "$SERVICES" 0
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
serve() { $BIN serve --zones "$DIR" --listen "127.0.0.1:$1" --upstream off --no-loadbalance --health-listen off --ready-listen off \
  --metrics-listen off --lameduck 0 --reload-interval 0.2 2>>"$OUT/server-$1.log" & pids+=($!); }
up() { for _ in $(seq 100); do dig +short +time=1 +tries=1 -p "$1" @127.0.0.1 web.shop.svc.cluster.local >/dev/null 2>&1 && return; sleep 0.1; done; }
serve "$PORT"; srv=${pids[-1]}; up "$PORT"
rss() { awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$srv/status"; }

# The load: cluster names, search-path misses, PTRs, headless and SRV.
{
  for i in $(seq 0 "$((SERVICES - 1))"); do
    echo "s$i.soak.svc.cluster.local A"
    echo "s$i.soak.svc.cluster.local.soak.svc.cluster.local A"
    echo "_http._tcp.s$i.soak.svc.cluster.local SRV"
  done
  echo "web.shop.svc.cluster.local A"; echo "1.0.96.10.in-addr.arpa PTR"
} > "$OUT/load.txt"
dnsperf -s 127.0.0.1 -p "$PORT" -d "$OUT/load.txt" -l "$SOAK_SECONDS" -Q "$QPS" -c 2 >"$OUT/dnsperf.txt" 2>&1 & load=$!; pids+=($load)

first=$(rss); peak=$first; step=0; started=$SECONDS; samples="$first"
while [ $((SECONDS - started)) -lt "$SOAK_SECONDS" ]; do
  for _ in $(seq 15); do step=$((step + 1)); python3 Benchmarks/soak/churn.py "$DIR/churn.yaml" "$SERVICES" "$step"; sleep 2; done
  r=$(rss); samples="$samples $r"; [ "$r" -gt "$peak" ] && peak=$r
done
wait "$load" 2>/dev/null || true
echo "soak: ${SOAK_SECONDS} s, $step rewrites of churn.yaml, load $(grep -E 'Queries completed' "$OUT/dnsperf.txt" | tr -s ' ')"
echo "resident every 30 s (MB): $samples"
echo "resident: first $first MB, peak $peak MB, last $(rss) MB"

# Every answer against a fresh build of the final files.
sleep 2
serve "$FRESH"; up "$FRESH"
$BIN check "$DIR" 2>/dev/null | awk '!/^[;$]/ && NF >= 4 {print $1, $4}' | sort -u > "$OUT/questions.txt"
awk '{print "nope." $1, "A"}' "$OUT/questions.txt" | sort -u >> "$OUT/questions.txt"
ask() { dig +noall +answer +authority +time=2 +tries=1 -p "$1" @127.0.0.1 "$2" "$3" | awk '$4 == "SOA" {$7 = 0} {print}' | sort; }
differ=0; asked=0
while read -r name type; do
  asked=$((asked + 1))
  if [ "$(ask "$PORT" "$name" "$type")" != "$(ask "$FRESH" "$name" "$type")" ]; then
    differ=$((differ + 1)); [ "$differ" -le 5 ] && echo "differs: $name $type"
  fi
done < "$OUT/questions.txt"
echo "answers compared with a fresh server on the final files: $asked questions, $differ differ"
[ "$differ" -eq 0 ]
