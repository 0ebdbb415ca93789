#!/usr/bin/env bash
# Long fuzz run: 100,000 structure-aware mutations of the audit fixtures through all five readers
# and the audit (release build). Prints the count, the slowest input's time and the peak memory;
# fails on a panic or an input over 2 s.
set -euo pipefail
cd "$(dirname "$0")/.."
PORTPLAN_FUZZ_CASES="${1:-100000}" cargo test --release --test fuzz_parsers -- --nocapture 2>&1 \
  | grep -E '^fuzz:|panicked|took'
