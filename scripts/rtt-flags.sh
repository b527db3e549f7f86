#!/usr/bin/env bash
# Ping RTT through the default lab under V8 flag sets (issue 27; docs/performance.md): each set goes in
# VROUTER_NODE_FLAGS (after the router's own); scripts/rtt-env.sh does the rounds and the figures.
# Usage (root): bash scripts/rtt-flags.sh ROUNDS "" "--some-flag" ...
cd "$(dirname "$0")/.."
rounds=$1; shift
sets=()
for f in "$@"; do sets+=("VROUTER_NODE_FLAGS='$f'"); done
exec bash scripts/rtt-env.sh "$rounds" "${sets[@]}"
