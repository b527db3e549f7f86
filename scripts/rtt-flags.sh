#!/usr/bin/env bash
# Ping RTT through the default lab under V8 flag sets (issue 27; docs/performance.md). Alternates the
# flag sets (VROUTER_NODE_FLAGS, after the router's own), each round a fresh lab,
# 3 s after the first ping (SETTLE) then 30 pings at 0.1 s; prints median, mean, p90 and RSS per set.
# Usage (root): bash scripts/rtt-flags.sh ROUNDS "" "--some-flag" ...
cd "$(dirname "$0")/.."
V="node bin/vrouter.js"; LAB=topologies/gw-a-b.yaml
trap '$V down $LAB >/dev/null 2>&1; rm -rf $out' EXIT
rounds=$1; shift
out=/tmp/rtt-ab.$$; rm -rf $out; mkdir -p $out
for r in $(seq 1 $rounds); do
  i=0
  for f in "$@"; do
    $V down $LAB >/dev/null 2>&1
    VROUTER_NODE_FLAGS="$f" $V up --detach $LAB >/dev/null 2>&1
    until ip netns exec gw-a-b-host-a ping -c 1 -W 0.2 10.2.2.2 >/dev/null 2>&1; do :; done
    sleep ${SETTLE:-3}
    ip netns exec gw-a-b-host-a ping -c 30 -i 0.1 10.2.2.2 | sed -n 's/.*time=\([0-9.]*\) ms/\1/p' >> $out/$i
    rss=$(for p in $(pgrep -f "router-main.js /run/vrouter/gw-a-b/"); do awk '/VmRSS/ {print $2}' /proc/$p/status; done | tr '\n' ' ')
    echo "$rss" >> $out/rss$i
    $V down $LAB >/dev/null 2>&1
    i=$((i+1))
  done
done
i=0
for f in "$@"; do
  python3 -c "
import statistics as s; v=[float(x) for x in open('$out/$i')]; r=open('$out/rss$i').read().split()
print(f\"flags='$f': n={len(v)} median {s.median(v):.2f} ms, mean {s.mean(v):.2f}, p90 {sorted(v)[int(len(v)*.9)]:.2f}; RSS kB {' '.join(r)}\")"
  i=$((i+1))
done
