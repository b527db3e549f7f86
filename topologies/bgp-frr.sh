#!/bin/sh
# FRR (zebra and bgpd) in a linux node of a lab:   sh bgp-frr.sh BGPD.CONF   (an exec line of the node)
# The daemons run as user frr in a mount namespace of their own, with a tmpfs on /run/frr for their
# configuration, sockets, pid files and logs: nothing of them outlives the node (`vrouter down` ends
# them with the node's other processes). bgpd's pid goes to $VROUTER_STATE/bgpd.pid, so that
#   vtysh --vty_socket /proc/$(cat $VROUTER_STATE/bgpd.pid)/root/run/frr -c 'show bgp summary'
# reaches them from outside.
set -e
[ -r "$1" ] || { echo "bgp-frr.sh: no configuration $1" >&2; exit 1; }
exec unshare -m --propagation private sh -c '
  set -e
  mount -t tmpfs -o mode=0755 frr /run/frr
  cp "$1" /run/frr/bgpd.conf
  printf "log file /run/frr/zebra.log\n" > /run/frr/zebra.conf
  chown -R frr:frr /run/frr
  /usr/lib/frr/zebra -d -f /run/frr/zebra.conf -i /run/frr/zebra.pid -z /run/frr/zserv.api --vty_socket /run/frr -P 0
  /usr/lib/frr/bgpd -d -f /run/frr/bgpd.conf -i /run/frr/bgpd.pid -z /run/frr/zserv.api --vty_socket /run/frr -P 0
  i=0; while [ ! -s /run/frr/bgpd.pid ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
  cp /run/frr/bgpd.pid "$2/bgpd.pid"
' sh "$1" "$VROUTER_STATE"
