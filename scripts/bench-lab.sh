#!/usr/bin/env bash
# Measures real labs and strongSwan side by side, in one run (root; not part of .ci/run):
#   - seconds from `vrouter up --detach` to the first successful ping host-a -> host-b
#   - memory per router process: RSS, PSS (shared pages of the node binary divided among the
#     processes that map them) and private memory
#   - ping round-trip time through the tunnel (20 pings) and iperf3 TCP throughput host-a -> host-b,
#     five runs each after a first flow of 1 s that is not counted (it finds the path MTU): the median,
#     the range, the spread ((max - min) / median; the goal is 15%) and the runs in order
#   - the same lab again with the router TAPs' offloads off (VROUTER_TAP_OFFLOAD=0), and with only
#     GRO on their writes off (VROUTER_TAP_GRO=0), for the ratios
#   - the same for strongSwan 5.9 (kernel-libipsec), twice: host to host (scripts/strongswan-pair.sh)
#     and in the lab's shape, a host behind each of two gateways (scripts/strongswan-gateways.sh),
#     ESP 3des-cbc + hmac-md5-96; the ratios vrouter / strongSwan for both
#   - scale: chains of 2, 4, 8 and 16 routers with a tunnel between each pair (test/bench/chain.ts):
#     seconds to up, a ping across the last tunnel, memory per router
# usage: sudo scripts/bench-lab.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
T=${1:-10}
# what this script needs beyond scripts/deps.sh: strongSwan 5.9 (Debian)
need=()
for p in strongswan-charon strongswan-swanctl libcharon-extra-plugins libstrongswan-extra-plugins; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "bench-lab: installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }
fi
bash scripts/deps.sh
LAB=topologies/gw-a-b.yaml
V="node bin/vrouter.js"
CHAIN=/tmp/vrouter-bench-chain
$V down $LAB >/dev/null 2>&1 || true
bash scripts/strongswan-pair.sh down >/dev/null 2>&1 || true
bash scripts/strongswan-gateways.sh down >/dev/null 2>&1 || true
cleanup() {
  $V down $LAB >/dev/null 2>&1 || true
  bash scripts/strongswan-pair.sh down >/dev/null 2>&1 || true
  bash scripts/strongswan-gateways.sh down >/dev/null 2>&1 || true
  for f in $CHAIN/*/chain*.yaml; do [ -f "$f" ] && $V down "$f" >/dev/null 2>&1; done; rm -rf $CHAIN
}
trap cleanup EXIT
py() { python3 -c "$1"; }
mem() { # RSS, PSS and private memory of one process, in MB
  awk '/^Rss:/ {r=$2} /^Pss:/ {p=$2} /^Private_(Clean|Dirty):/ {v+=$2} END {printf "RSS %.0f MB, PSS %.0f MB, private %.0f MB", r/1024, p/1024, v/1024}' /proc/$1/smaps_rollup
}
pid_of() { $V inspect "$1" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['nodes']['$2']['pid'])"; }
iperf() { # iperf3 for $T seconds from namespace $1 to $2 (server in $3), bits per second
  ip netns exec $3 iperf3 -s -D -1
  for i in $(seq 50); do ip netns exec $3 ss -ltn | grep -q ':5201 ' && break; sleep 0.05; done
  ip netns exec $1 iperf3 -c $2 -t $T -J | python3 -c "import json,sys; print(json.load(sys.stdin)['end']['sum_received']['bits_per_second'])"
}

RUNS=5
# five iperf3 runs (arguments as iperf's, or a whole command): "median min max spread run1,run2,...".
# A first flow of 1 s is not counted, in every lab alike: in a fresh lab it is the one that finds the
# path MTU (vrouter's hosts learn the es- MTU from the router's ICMP fragmentation-needed; its first
# second carries about half the rate and a dozen retransmissions: docs/performance.md, 2026-12-08),
# and with it the spread of five runs measured that one event rather than the runs.
iperf5() {
  local xs=()
  T=1 "$@" >/dev/null
  for i in $(seq $RUNS); do xs+=("$("$@")"); done
  py "r=[$(IFS=,; echo "${xs[*]}")]; xs=sorted(r); m=xs[len(xs)//2]; print(m, xs[0], xs[-1], (xs[-1]-xs[0])/m, ','.join(f'{x/1e6:.0f}' for x in r))"
}
say_bps() { # label, "median min max spread runs"
  set -- "$1" $2
  echo "$1: iperf3 TCP, $RUNS runs of $T s (after a first flow of 1 s): median $(py "print(f'{$2/1e6:.1f}')") Mbit/s, range $(py "print(f'{$3/1e6:.1f}-{$4/1e6:.1f}')"), spread $(py "print(f'{$5*100:.0f}')")%; runs in order: $6"
}
ss_iperf() { ip netns exec ssB iperf3 -s -D -1; sleep 0.3; ip netns exec ssA iperf3 -B 10.56.1.1 -c 10.56.2.2 -t $T -J | python3 -c "import json,sys; print(json.load(sys.stdin)['end']['sum_received']['bits_per_second'])"; }

t0=$(date +%s.%N)
$V up $LAB --detach >/dev/null
until ip netns exec gw-a-b-host-a ping -c 1 -W 0.2 10.2.2.2 >/dev/null 2>&1; do :; done
t1=$(date +%s.%N)
echo "vrouter: up --detach to first ping: $(py "print(f'{$t1 - $t0:.2f}')") s"
for n in gw-a gw-b; do echo "vrouter: $n memory: $(mem $(pid_of $LAB $n)) (ES PIC worker included)"; done
vr_rtt=$(ip netns exec gw-a-b-host-a ping -c 20 -i 0.1 -q 10.2.2.2 | awk -F/ '/rtt/ {print $5}')
echo "vrouter: ping RTT host-a -> host-b: ${vr_rtt} ms (avg of 20)"
vr=$(iperf5 iperf gw-a-b-host-a 10.2.2.2 gw-a-b-host-b); vr_bps=${vr%% *}
say_bps "vrouter: host-a -> host-b" "$vr"
$V down $LAB >/dev/null

# the same lab with the router TAPs' offloads off (VROUTER_TAP_OFFLOAD=0: no IFF_VNET_HDR, the kernel
# segments a host's large TCP segments before the TAP, one read per frame), for the ratio
VROUTER_TAP_OFFLOAD=0 $V up $LAB --detach >/dev/null
until ip netns exec gw-a-b-host-a ping -c 1 -W 0.2 10.2.2.2 >/dev/null 2>&1; do :; done
nv_rtt=$(ip netns exec gw-a-b-host-a ping -c 20 -i 0.1 -q 10.2.2.2 | awk -F/ '/rtt/ {print $5}')
echo "vrouter without TAP offloads: ping RTT host-a -> host-b: ${nv_rtt} ms (avg of 20)"
nv=$(iperf5 iperf gw-a-b-host-a 10.2.2.2 gw-a-b-host-b); nv_bps=${nv%% *}
say_bps "vrouter without TAP offloads: host-a -> host-b" "$nv"
$V down $LAB >/dev/null
py "print(f'ratio vrouter with/without TAP offloads: throughput={$vr_bps/$nv_bps:.2f} rtt={$vr_rtt/$nv_rtt:.2f}')"

# the same lab with the offloads on but GRO on the TAP writes off (VROUTER_TAP_GRO=0: each decrypted
# segment toward a host is its own write), for the ratio
VROUTER_TAP_GRO=0 $V up $LAB --detach >/dev/null
until ip netns exec gw-a-b-host-a ping -c 1 -W 0.2 10.2.2.2 >/dev/null 2>&1; do :; done
ng_rtt=$(ip netns exec gw-a-b-host-a ping -c 20 -i 0.1 -q 10.2.2.2 | awk -F/ '/rtt/ {print $5}')
echo "vrouter without GRO on TAP writes: ping RTT host-a -> host-b: ${ng_rtt} ms (avg of 20)"
ng=$(iperf5 iperf gw-a-b-host-a 10.2.2.2 gw-a-b-host-b); ng_bps=${ng%% *}
say_bps "vrouter without GRO on TAP writes: host-a -> host-b" "$ng"
$V down $LAB >/dev/null
py "print(f'ratio vrouter with/without GRO on TAP writes: throughput={$vr_bps/$ng_bps:.2f} rtt={$vr_rtt/$ng_rtt:.2f}')"

bash scripts/strongswan-pair.sh up >/dev/null
ss_rtt=$(ip netns exec ssA ping -c 20 -i 0.1 -q -I 10.56.1.1 10.56.2.2 | awk -F/ '/rtt/ {print $5}')
echo "strongswan host to host: ping RTT: ${ss_rtt} ms (avg of 20)"
ss=$(iperf5 ss_iperf); ss_bps=${ss%% *}
say_bps "strongswan host to host" "$ss"
bash scripts/strongswan-pair.sh down >/dev/null

bash scripts/strongswan-gateways.sh up >/dev/null
sg_rtt=$(ip netns exec ssHA ping -c 20 -i 0.1 -q 10.57.2.2 | awk -F/ '/rtt/ {print $5}')
echo "strongswan gateways (the lab's shape): ping RTT: ${sg_rtt} ms (avg of 20)"
sg=$(iperf5 iperf ssHA 10.57.2.2 ssHB); sg_bps=${sg%% *}
say_bps "strongswan gateways (the lab's shape)" "$sg"
bash scripts/strongswan-gateways.sh down >/dev/null

py "print(f'ratio vrouter/strongswan host to host: throughput={$vr_bps/$ss_bps:.2f} rtt={$vr_rtt/$ss_rtt:.2f}')"
py "print(f'ratio vrouter/strongswan gateways:     throughput={$vr_bps/$sg_bps:.2f} rtt={$vr_rtt/$sg_rtt:.2f}')"

npm run build >/dev/null 2>&1 || true
for n in 2 4 8 16; do
  f=$(node dist/test/bench/chain.js $n $CHAIN/$n)
  a=$(date +%s.%N); $V up $f --detach >/dev/null; b=$(date +%s.%N)
  ok=$($V exec $f r$((n - 1)) "ping 10.253.$((n - 1)).2 count 1" | grep -c ' 1 packets received' || true)
  echo "scale: $n routers in a chain, a tunnel between each pair: up in $(py "print(f'{$b - $a:.2f}')") s, ping across the last tunnel: $([ "$ok" = 1 ] && echo ok || echo FAILED), r1 $(mem $(pid_of $f r1))"
  $V down $f >/dev/null
done
