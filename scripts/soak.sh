#!/usr/bin/env bash
# The IKE soak (scripts/soak.ts): a day of the chapter's shortest lifetimes under traffic, in minutes.
#   bash scripts/soak.sh [--hours 24] [--step 5] [--warm 1] [--inline] [--why] [--snapshots DIR]
# The process runs with a router process's V8 limits and malloc arenas (src/lab/v8-limits.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
flags=$(node --import tsx -e "import('./src/lab/v8-limits.ts').then(m => console.log(m.ROUTER_V8_FLAGS.join(' ')))")
export MALLOC_ARENA_MAX=2
# shellcheck disable=SC2086
exec node $flags --import tsx scripts/soak.ts "$@"
