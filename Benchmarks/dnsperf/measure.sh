# Shared by the dnsperf benchmarks (sourced): server CPU per answered query, read from /proc
# around a dnsperf run pinned to CPU 1. Needs SECONDS_PER_RUN and OUT; appends to $OUT/results.

# An NSD configuration on 127.0.0.1@PORT serving $OUT/ZONE.zone for each ZONE: nsd_conf PORT ZONE...
nsd_conf() {
  local port=$1 zone
  shift
  cat <<CONF
server:
  ip-address: 127.0.0.1@$port
  server-count: 1
  username: ""
  chroot: ""
  zonesdir: "$OUT"
  database: ""
  zonelistfile: "$OUT/zone.list"
  xfrdfile: "$OUT/xfrd.state"
  pidfile: "$OUT/nsd.pid"
  logfile: "$OUT/nsd.log"
  rrl-ratelimit: 0
  verbosity: 0
remote-control:
  control-enable: no
CONF
  for zone in "$@"; do printf 'zone:\n  name: %s\n  zonefile: %s.zone\n' "$zone" "$zone"; done
}

# CPU ticks of a process and all its descendants (NSD serves from forked children).
# Each server runs in its own session (setsid), so "all its processes" is the session: NSD forks
# xfrd, main and server processes, and the first PID does not stay at the top of the tree.
descendants() { ps -o pid= -s "$1" | grep -vw "$1" || true; }
cpu_ticks() {
  local p total=0 t
  for p in $1 $(descendants "$1"); do
    # Fields after "pid (comm) ": comm may hold spaces ("nsd: server 1"); utime, stime are 12, 13.
    t=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}')
    total=$((total + ${t:-0}))
  done
  echo $total
}

# A Knot configuration on 127.0.0.1@PORT (one UDP and one TCP worker) serving $OUT/ZONE.zone for
# each ZONE: knot_conf PORT ZONE...
knot_conf() {
  local port=$1 zone
  shift
  mkdir -p "$OUT/knot/storage"
  cat <<CONF
server:
    rundir: "$OUT/knot"
    listen: 127.0.0.1@$port
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
    pidfile: "$OUT/knot/knot.pid"
database:
    storage: "$OUT/knot/storage"
log:
  - target: stderr
    any: warning
template:
  - id: default
    storage: "$OUT/knot/storage"
    semantic-checks: off
    journal-content: none
    zonefile-sync: -1
    zonefile-load: whole
zone:
CONF
  for zone in "$@"; do printf '  - domain: %s\n    file: "%s/%s.zone"\n' "$zone" "$OUT" "$zone"; done
}

# MODE=tcp measures over TCP (dnsperf -m tcp); the results line carries the mode.
measure() { # name pid port queryfile
  local name=$1 pid=$2 port=$3 file=$4 mode=${MODE:-udp}
  local hz; hz=$(getconf CLK_TCK)
  # Warm up, then measure.
  taskset -c 1 dnsperf -m "$mode" -s 127.0.0.1 -p "$port" -d "$file" -l 2 -c 4 -q 200 >/dev/null 2>&1 || true
  local before; before=$(cpu_ticks "$pid")
  local report; report=$(taskset -c 1 dnsperf -m "$mode" -s 127.0.0.1 -p "$port" -d "$file" -l "$SECONDS_PER_RUN" -c 4 -q 200 2>&1)
  local after; after=$(cpu_ticks "$pid")
  local completed qps lost
  completed=$(echo "$report" | awk '/Queries completed:/ {print $3}')
  lost=$(echo "$report" | awk '/Queries lost:/ {print $3}')
  qps=$(echo "$report" | awk '/Queries per second:/ {print $4}')
  local us; us=$(awk -v t=$((after - before)) -v hz="$hz" -v n="$completed" 'BEGIN {printf "%.2f", t / hz * 1e6 / n}')
  local load; load=$(basename "$file" .txt)
  [ "$mode" = udp ] || load="$load-$mode"
  printf "%-11s %-9s %12s %10s %14s\n" "$name" "$load" "$qps" "$lost" "$us"
  echo "$name $load $us $qps" >> "$OUT/results"
}
