#!/usr/bin/env bash
# The IKE soak (scripts/soak.ts): a day of the chapter's shortest lifetimes under traffic, in minutes.
#   bash scripts/soak.sh [--hours 24] [--step 5] [--inline]
set -euo pipefail
cd "$(dirname "$0")/.."
exec node --expose-gc --import tsx scripts/soak.ts "$@"
