#!/usr/bin/env bash
# Two network namespaces (ssA 10.55.0.1, ssB 10.55.0.2) joined by a veth, protecting inner addresses
# 10.56.1.1 (on ssA's lo) and 10.56.2.2 (on ssB's lo), each running strongSwan 5.9
# charon with kernel-libipsec (userspace ESP), IKEv1 main mode 3des-sha1-modp1024 with PSK, ESP
# 3des-cbc + hmac-md5-96: the reference figure for vrouter's tunnel (docs/performance.md).
# usage: strongswan-pair.sh up | down
set -euo pipefail
W=/tmp/vrouter-strongswan
down() {
  for ns in ssA ssB; do
    for p in $(ip netns pids $ns 2>/dev/null); do kill $p 2>/dev/null || true; done
  done
  sleep 0.3
  for ns in ssA ssB; do
    for p in $(ip netns pids $ns 2>/dev/null); do kill -9 $p 2>/dev/null || true; done
    ip netns del $ns 2>/dev/null || true
  done
  rm -rf $W
}
if [ "${1:-}" = down ]; then down; exit 0; fi
down
mkdir -p $W
ip netns add ssA; ip netns add ssB
ip link add ssa0 netns ssA type veth peer name ssb0 netns ssB
ip -n ssA addr add 10.55.0.1/24 dev ssa0; ip -n ssB addr add 10.55.0.2/24 dev ssb0
for ns in ssA ssB; do ip -n $ns link set lo up; done
ip -n ssA addr add 10.56.1.1/32 dev lo; ip -n ssB addr add 10.56.2.2/32 dev lo
ip -n ssA link set ssa0 up; ip -n ssB link set ssb0 up
for side in A B; do
  me=$([ $side = A ] && echo 10.55.0.1 || echo 10.55.0.2); peer=$([ $side = A ] && echo 10.55.0.2 || echo 10.55.0.1)
  mine=$([ $side = A ] && echo 10.56.1.1 || echo 10.56.2.2); theirs=$([ $side = A ] && echo 10.56.2.2 || echo 10.56.1.1)
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
  bench {
    version = 1
    local_addrs = $me
    remote_addrs = $peer
    proposals = 3des-sha1-modp1024
    local { auth = psk }
    remote { auth = psk }
    children {
      bench {
        esp_proposals = 3des-md5-modp1024
        local_ts = $mine/32
        remote_ts = $theirs/32
        mode = tunnel
      }
    }
  }
}
secrets {
  ike-bench {
    secret = "vrouter-reference-only"
  }
}
CONF
  ip netns exec ss$side unshare -m sh -c "mount -t tmpfs none /run; STRONGSWAN_CONF=$d/strongswan.conf exec /usr/lib/ipsec/charon" >$d/stdout 2>&1 &
  mkdir -p $d/x509 $d/x509ca $d/x509ocsp $d/x509aa $d/x509ac $d/x509crl $d/pubkey $d/private $d/rsa $d/ecdsa $d/bliss $d/pkcs8 $d/pkcs12
done
for side in A B; do
  for i in $(seq 50); do [ -S $W/$side/charon.vici ] && break; sleep 0.1; done
  ip netns exec ss$side swanctl --load-all --file $W/$side/swanctl.conf --uri unix://$W/$side/charon.vici >/dev/null 2>&1
done
ip netns exec ssA swanctl --initiate --child bench --uri unix://$W/A/charon.vici >/dev/null 2>&1
ip netns exec ssA swanctl --list-sas --uri unix://$W/A/charon.vici 2>/dev/null | grep -E 'ESTABLISHED|INSTALLED' || { echo 'strongswan-pair: tunnel did not come up' >&2; exit 1; }
