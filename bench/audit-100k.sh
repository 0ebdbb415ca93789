#!/usr/bin/env bash
# Audits a generated 100,000-rule iptables-save against the reference plan (release build) and prints
# the parse and audit times and the peak memory. Goal: under 0.5 s on a 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release --test audit bench_audit_100k_iptables_rules -- --ignored --nocapture 2>&1 \
  | grep -E '^(rules|parse|verdicts|overexposure|peak|planned)|panicked'
