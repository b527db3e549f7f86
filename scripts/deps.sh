#!/usr/bin/env bash
# Installs the system packages vrouter and its tests need, only those that are missing (root, Debian).
set -euo pipefail
need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
# nftables: the NAT node of the NAT lab; strongSwan (charon, swanctl, kernel-libipsec): the real IKEv1 peer;
# libipsec-mb-dev: the ES PIC's multi-buffer crypto (native/esp.cc; optional: the build works without it);
# graphviz: vrouter graph --format svg (dot);
# scep: the certificate lab's CA (scepserver, scepclient); slapd, ldap-utils: its CRLs over LDAP; python3-ncclient: the NETCONF client of the API test
for p in iproute2 iputils-ping tcpdump chromium iperf3 python3-scapy g++ make python3 procps tmux nftables \
    strongswan-charon strongswan-swanctl libcharon-extra-plugins libstrongswan-extra-plugins scep openssl curl slapd ldap-utils python3-ncclient libipsec-mb-dev bird2 frr graphviz; do have "$p" || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "deps: missing ${need[*]}; run as root to install them" >&2; exit 1; fi
  echo "deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
