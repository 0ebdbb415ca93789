#!/usr/bin/env bash
# Scale benchmark: synthetic topologies of 10, 100 and 1,000 pools (bench/gen-topology.py), and for
# each the wall time and peak memory of check, plan, every render target, between, diagram and
# report, then the growth exponent between sizes (log(t2/t1) / log(n2/n1); 1 = linear). Release build.
# Needs /usr/bin/time (Debian package `time`) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin="$PWD/target/release/portplan"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
sizes=(${SIZES:-10 100 1000})
commands=(
  "check"
  "plan --format json"
  "render --target nftables -o OUT"
  "render --target iptables -o OUT"
  "render --target windows -o OUT"
  "render --target asa -o OUT"
  "render --target aerleon -o OUT"
  "render --target nginx -o OUT"
  "render --target haproxy -o OUT"
  "render --target nftables-lb -o OUT"
  "render --target keepalived -o OUT"
  "render --target json -o OUT/plan.json"
  "between edge0 pool2 --topology"
  "diagram -o OUT/d.svg"
  "report -o OUT/r.html"
)
declare -A secs
printf '%-36s' "command"; for n in "${sizes[@]}"; do printf '%16s' "$n pools"; done; printf '%10s\n' "exponent"
for n in "${sizes[@]}"; do python3 bench/gen-topology.py "$n" >"$work/t$n.toml"; done
for c in "${commands[@]}"; do
  printf '%-36s' "$c"
  prev_n=""; prev_t=""; exps=""
  for n in "${sizes[@]}"; do
    out="$work/out-$n"; rm -rf "$out"; mkdir -p "$out"
    args="${c//OUT/$out}"
    if [[ "$args" == *"--topology" ]]; then args="$args $work/t$n.toml"; else
      # the topology file goes right after the subcommand
      sub="${args%% *}"; rest="${args#"$sub"}"; args="$sub $work/t$n.toml$rest"; fi
    # exit 1 (findings) is a result, not a failure of the benchmark
    /usr/bin/time -f '%e %M' -o "$work/time" "$bin" $args >/dev/null 2>"$work/err" || [ $? -eq 1 ] \
      || { echo; echo "failed: portplan $args"; cat "$work/err"; exit 1; }
    read -r t m <"$work/time"
    printf '%16s' "${t}s $((m / 1024))MiB"
    if [ -n "$prev_t" ]; then
      exps="$(python3 -c "import math;a,b=max($prev_t,0.005),max($t,0.005);print(f'{math.log(b/a)/math.log($n/$prev_n):.2f}')")"
    fi
    prev_n=$n; prev_t=$t
  done
  printf '%10s\n' "${exps:--}"
done
echo "(exponent: between the two largest sizes; times under 5 ms count as 5 ms)"
# diagram and report grow with the number of arrows (one per pair of boxes a flow joins through one
# firewall); that number is the output's own size, shown here with its growth exponent
printf '%-36s' "diagram arrows"; prev_n=""; prev_a=""; exps=""
for n in "${sizes[@]}"; do
  "$bin" diagram "$work/t$n.toml" -o "$work/arrows.svg" >/dev/null 2>&1 || true
  a="$(grep -o '<g class="flow' "$work/arrows.svg" | wc -l)"
  printf '%16s' "$a"
  if [ -n "$prev_a" ]; then
    exps="$(python3 -c "import math;print(f'{math.log(max($a,1)/max($prev_a,1))/math.log($n/$prev_n):.2f}')")"
  fi
  prev_n=$n; prev_a=$a
done
printf '%10s\n' "${exps:--}"
