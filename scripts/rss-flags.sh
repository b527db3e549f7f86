#!/usr/bin/env bash
# Resident memory of the in-memory two-gateway lab under each flag set, the router's own flags first
# (src/lab/v8-limits.ts); see scripts/rss-flags.mjs. Usage: bash scripts/rss-flags.sh
set -euo pipefail
cd "$(dirname "$0")/.."
base="--expose-gc --max-old-space-size=80 --max-semi-space-size=2 --no-lazy-feedback-allocation"
export MALLOC_ARENA_MAX=2
for extra in "" "--max-semi-space-size=1" "--single-threaded" "--max-semi-space-size=1 --single-threaded" "--no-opt" "--lite-mode"; do
  node $base $extra scripts/rss-flags.mjs "router flags ${extra:-(as shipped)}" 2> >(grep -v '^Warning' >&2)
done
