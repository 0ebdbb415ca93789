#!/usr/bin/env bash
# Times `portplan probe` against `nmap -sT` / `nmap -sU` on the same flow set, in one run, inside the
# namespace lab of the reference topology (some rules removed so filtered ports are included).
# Needs root. Prints wall times and the portplan/nmap ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v nmap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nmap >/dev/null; }
command -v nft >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nftables >/dev/null; }
cargo test --release --test netns bench_probe_against_nmap -- --ignored --nocapture 2>&1 \
  | grep -E '^(flow set|portplan probe|nmap|ratio)|panicked|skipped'
