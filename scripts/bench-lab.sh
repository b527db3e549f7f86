#!/usr/bin/env bash
# Measures a real lab and strongSwan side by side, in one run (root; not part of .ci/run):
#   - seconds from `vrouter up --detach` to the first successful ping host-a -> host-b
#   - memory (RSS) per router process
#   - ping round-trip time through the tunnel (20 pings)
#   - iperf3 TCP throughput host-a -> host-b (10 s)
#   - the same RTT and throughput for strongSwan 5.9 (kernel-libipsec) between two namespaces,
#     ESP 3des-cbc + hmac-md5-96, and the ratio vrouter / strongSwan
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
$V down $LAB >/dev/null 2>&1 || true
bash scripts/strongswan-pair.sh down >/dev/null 2>&1 || true
trap '$V down $LAB >/dev/null 2>&1 || true; bash scripts/strongswan-pair.sh down >/dev/null 2>&1 || true' EXIT

t0=$(date +%s.%N)
$V up $LAB --detach >/dev/null
until ip netns exec gw-a-b-host-a ping -c 1 -W 0.2 10.2.2.2 >/dev/null 2>&1; do :; done
t1=$(date +%s.%N)
echo "vrouter: up --detach to first ping: $(python3 -c "print(f'{$t1 - $t0:.2f}')") s"
for n in gw-a gw-b; do
  pid=$($V inspect $LAB --json | python3 -c "import json,sys; print(json.load(sys.stdin)['nodes']['$n']['pid'])")
  echo "vrouter: $n memory: $(awk '/VmRSS/ {printf "%.0f MB", $2/1024}' /proc/$pid/status) (RSS, ES PIC worker included)"
done
vr_rtt=$(ip netns exec gw-a-b-host-a ping -c 20 -i 0.1 -q 10.2.2.2 | awk -F/ '/rtt/ {print $5}')
echo "vrouter: ping RTT host-a -> host-b: ${vr_rtt} ms (avg of 20)"
ip netns exec gw-a-b-host-b iperf3 -s -D -1; sleep 0.3
vr_bps=$(ip netns exec gw-a-b-host-a iperf3 -c 10.2.2.2 -t $T -J | python3 -c "import json,sys; print(json.load(sys.stdin)['end']['sum_received']['bits_per_second'])")
echo "vrouter: iperf3 TCP host-a -> host-b: $(python3 -c "print(f'{$vr_bps/1e6:.1f}')") Mbit/s"
$V down $LAB >/dev/null

bash scripts/strongswan-pair.sh up >/dev/null
ss_rtt=$(ip netns exec ssA ping -c 20 -i 0.1 -q -I 10.56.1.1 10.56.2.2 | awk -F/ '/rtt/ {print $5}')
echo "strongswan: ping RTT: ${ss_rtt} ms (avg of 20)"
ip netns exec ssB iperf3 -s -D -1; sleep 0.3
ss_bps=$(ip netns exec ssA iperf3 -B 10.56.1.1 -c 10.56.2.2 -t $T -J | python3 -c "import json,sys; print(json.load(sys.stdin)['end']['sum_received']['bits_per_second'])")
echo "strongswan: iperf3 TCP: $(python3 -c "print(f'{$ss_bps/1e6:.1f}')") Mbit/s"
python3 -c "print(f'ratio vrouter/strongswan: throughput={$vr_bps/$ss_bps:.2f} rtt={$vr_rtt/$ss_rtt:.2f}')"
