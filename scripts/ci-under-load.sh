#!/usr/bin/env bash
# The suite as CI runs it, on a clean clone in a 0700 directory, while one busy process per core loads
# the machine; N times in a row (default 3). Usage: sudo scripts/ci-under-load.sh [N]
set -euo pipefail
n=${1:-3}
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)          # 0700, as root's home or mktemp makes it
hogs=()
cleanup() { for p in "${hogs[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
git clone -q "$src" "$work/vrouter"
for _ in $(seq "$(nproc)"); do (while :; do :; done) & hogs+=($!); done
for i in $(seq "$n"); do
  start=$(date +%s)
  if (cd "$work/vrouter" && .ci/run > "$work/run$i.log" 2>&1); then
    echo "run $i: passed in $(( $(date +%s) - start )) s ($(grep -E '^ +Tests ' "$work/run$i.log" | tail -1 | xargs))"
  else
    keep=/var/tmp/ci-under-load-$(date +%Y%m%d-%H%M%S)-run$i.log; cp "$work/run$i.log" "$keep"
    echo "run $i: FAILED after $(( $(date +%s) - start )) s (whole log: $keep)"; grep -E '×|FAIL|Error' "$work/run$i.log" | head -40; exit 1
  fi
done
