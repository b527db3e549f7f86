#!/usr/bin/env bash
# The fair strongSwan baseline, in the shape of vrouter's default lab: host A (10.57.1.1) - gateway
# ssGA - gateway ssGB - host B (10.57.2.2), four network namespaces; the gateways forward in their
# kernels and run strongSwan 5.9 charon with kernel-libipsec (userspace ESP over a TUN device), IKEv1
# main mode with a PSK, ESP 3des-cbc + hmac-md5-96 between them, protecting 10.57.1.0/24 <-> 10.57.2.0/24.
# usage: strongswan-gateways.sh up | down
set -euo pipefail
W=/tmp/vrouter-strongswan-gw
NS="ssHA ssGA ssGB ssHB"
down() {
  for ns in $NS; do for p in $(ip netns pids $ns 2>/dev/null); do kill $p 2>/dev/null || true; done; done
  sleep 0.3
  for ns in $NS; do
    for p in $(ip netns pids $ns 2>/dev/null); do kill -9 $p 2>/dev/null || true; done
    ip netns del $ns 2>/dev/null || true
  done
  rm -rf $W
}
if [ "${1:-}" = down ]; then down; exit 0; fi
down
mkdir -p $W
for ns in $NS; do ip netns add $ns; ip -n $ns link set lo up; done
ip link add ha0 netns ssHA type veth peer name ga1 netns ssGA
ip link add ga0 netns ssGA type veth peer name gb0 netns ssGB
ip link add gb1 netns ssGB type veth peer name hb0 netns ssHB
ip -n ssHA addr add 10.57.1.1/24 dev ha0;   ip -n ssGA addr add 10.57.1.254/24 dev ga1
ip -n ssGA addr add 10.55.0.1/24 dev ga0;   ip -n ssGB addr add 10.55.0.2/24 dev gb0
ip -n ssGB addr add 10.57.2.254/24 dev gb1; ip -n ssHB addr add 10.57.2.2/24 dev hb0
for l in "ssHA ha0" "ssGA ga0" "ssGA ga1" "ssGB gb0" "ssGB gb1" "ssHB hb0"; do set -- $l; ip -n $1 link set $2 up; done
ip -n ssHA route add default via 10.57.1.254; ip -n ssHB route add default via 10.57.2.254
for g in ssGA ssGB; do ip netns exec $g sysctl -qw net.ipv4.ip_forward=1; done
for side in A B; do
  me=$([ $side = A ] && echo 10.55.0.1 || echo 10.55.0.2); peer=$([ $side = A ] && echo 10.55.0.2 || echo 10.55.0.1)
  mine=$([ $side = A ] && echo 10.57.1.0/24 || echo 10.57.2.0/24); theirs=$([ $side = A ] && echo 10.57.2.0/24 || echo 10.57.1.0/24)
  d=$W/$side; mkdir -p $d
  cat > $d/strongswan.conf <<CONF
charon {
  load = random nonce gcrypt gmp sha1 md5 hmac pem pkcs1 x509 pubkey kernel-libipsec kernel-netlink socket-default vici updown
  plugins {
    vici {
      socket = unix://$d/charon.vici
    }
    kernel-libipsec {
      load = yes
    }
  }
  filelog {
    bench {
      path = $d/charon.log
      default = 1
    }
  }
}
CONF
  cat > $d/swanctl.conf <<CONF
connections {
  gw {
    version = 1
    local_addrs = $me
    remote_addrs = $peer
    proposals = 3des-sha1-modp1024
    local { auth = psk }
    remote { auth = psk }
    children {
      gw {
        esp_proposals = 3des-md5
        local_ts = $mine
        remote_ts = $theirs
        mode = tunnel
      }
    }
  }
}
secrets {
  ike-gw {
    secret = "vrouter-reference-only"
  }
}
CONF
  ip netns exec ssG$side unshare -m sh -c "mount -t tmpfs none /run; STRONGSWAN_CONF=$d/strongswan.conf exec /usr/lib/ipsec/charon" >$d/stdout 2>&1 &
done
for side in A B; do
  for i in $(seq 100); do [ -S $W/$side/charon.vici ] && break; sleep 0.1; done
  ip netns exec ssG$side swanctl --load-all --file $W/$side/swanctl.conf --uri unix://$W/$side/charon.vici >/dev/null 2>&1
done
ip netns exec ssGA swanctl --initiate --child gw --uri unix://$W/A/charon.vici >/dev/null 2>&1
ip netns exec ssGA swanctl --list-sas --uri unix://$W/A/charon.vici 2>/dev/null | grep -q INSTALLED || { echo 'strongswan-gateways: tunnel did not come up' >&2; exit 1; }
