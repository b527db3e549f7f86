#!/usr/bin/env bash
# Ping RTT (and, with TPUT=1, three iperf3 runs of 5 s) through the default lab under environment
# sets, alternated, each round a fresh lab: up to the first ping, SETTLE s (3), FLOOD pings of
# FLOODSIZE bytes (none) first if asked, then 30 pings at 0.1 s; prints median, mean, p90, time to
# the first ping and RSS per set (docs/performance.md, 2026-12-07). Usage (root):
#   bash scripts/rtt-env.sh ROUNDS "VROUTER_WARMUP=0 VROUTER_ES_SELFTEST=0" "VROUTER_X=1" ...
# (an assignment nothing reads, such as VROUTER_X=1, is the set "as shipped")
cd "$(dirname "$0")/.."
V="node bin/vrouter.js"; LAB=topologies/gw-a-b.yaml
trap '$V down $LAB >/dev/null 2>&1; rm -rf $out' EXIT
rounds=$1; shift
out=/tmp/rtt-env.$$; rm -rf $out; mkdir -p $out
for r in $(seq 1 $rounds); do
  i=0
  for f in "$@"; do
    $V down $LAB >/dev/null 2>&1
    s=$(date +%s.%N)
    eval "env $f" $V up --detach $LAB >/dev/null 2>&1
    until ip netns exec gw-a-b-host-a ping -c 1 -W 0.2 10.2.2.2 >/dev/null 2>&1; do :; done
    e=$(date +%s.%N); echo "$e - $s" | bc >> $out/up$i
    [ -n "$FLOOD" ] && ip netns exec gw-a-b-host-a ping -f -c $FLOOD -s ${FLOODSIZE:-1400} 10.2.2.2 >/dev/null 2>&1
    sleep ${SETTLE:-3}
    ip netns exec gw-a-b-host-a ping -c 30 -i 0.1 10.2.2.2 | sed -n 's/.*time=\([0-9.]*\) ms/\1/p' >> $out/$i
    if [ -n "$TPUT" ]; then for k in 1 2 3; do ip netns exec gw-a-b-host-b iperf3 -s -1 -D >/dev/null 2>&1; sleep 0.3; ip netns exec gw-a-b-host-a iperf3 -c 10.2.2.2 -t 5 -J 2>/dev/null | python3 -c "import json,sys; print(round(json.load(sys.stdin)['end']['sum_received']['bits_per_second']/1e6,1))" >> $out/tp$i.$k; done; fi
    rss=$(for p in $(pgrep -f "router-main.js /run/vrouter/gw-a-b/"); do awk '/VmRSS/ {print $2}' /proc/$p/status; done | tr '\n' ' ')
    echo "$rss" >> $out/rss$i
    $V down $LAB >/dev/null 2>&1
    i=$((i+1))
  done
done
i=0
for f in "$@"; do
  python3 -c "
import statistics as s, os; v=[float(x) for x in open('$out/$i')]; r=open('$out/rss$i').read().split(); u=[float(x) for x in open('$out/up$i')]
tp=' '.join('run%d: %s' % (k, '/'.join(l.strip() for l in open('$out/tp$i.%d' % k))) for k in (1,2,3) if os.path.exists('$out/tp$i.%d' % k))
print(f\"'$f': n={len(v)} median {s.median(v):.2f} ms, mean {s.mean(v):.2f}, p90 {sorted(v)[int(len(v)*.9)]:.2f}; up->ping {s.median(u):.2f} s; RSS kB {' '.join(r)} {tp}\")"
  i=$((i+1))
done
