#!/usr/bin/env bash
# Audits generated worst cases against the reference plan (release build) and prints wall time
# and peak memory of each: an ipset of 100,000 random hosts, an nft set of 100,000 addresses,
# a port set of 32,768 ports, chains that each jump twice to the next 30 levels deep, and an ASA
# configuration with 10,000 network objects in one group. Goal: each under 1 s.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
python3 - "$dir" <<'PY'
import random, sys
d = sys.argv[1]
random.seed(7)
hdr = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD DROP [0:0]", ":OUTPUT ACCEPT [0:0]"]
with open(f"{d}/ipset-100k.iptables", "w") as f:
    f.write("create big hash:ip family inet maxelem 200000\n")
    for _ in range(100_000):
        f.write("add big 10.%d.%d.%d\n" % (random.randrange(256), random.randrange(256), random.randrange(1, 255)))
    f.write("\n".join(hdr + ["-A FORWARD -m set --match-set big src -j DROP", "-A FORWARD -p tcp -j ACCEPT", "COMMIT"]) + "\n")
with open(f"{d}/set-100k.nft", "w") as f:
    hosts = ", ".join("10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255) for i in range(0, 200_000, 2))
    f.write("table inet f {\n set s { type ipv4_addr; flags interval; elements = { %s } }\n" % hosts)
    f.write(" chain forward { type filter hook forward priority 0; policy drop;\n  ip saddr @s drop\n  accept\n }\n}\n")
with open(f"{d}/ports-32k.nft", "w") as f:
    ports = ", ".join(str(p) for p in range(1, 65536, 2))
    f.write("table inet f {\n chain forward { type filter hook forward priority 0; policy drop;\n  tcp dport { %s } drop\n  accept\n }\n}\n" % ports)
with open(f"{d}/jumps-30.iptables", "w") as f:
    lines = hdr + [":C%d - [0:0]" % i for i in range(31)] + ["-A FORWARD -j C0", "-A FORWARD -j C0"]
    for i in range(30):
        lines += ["-A C%d -p tcp --dport %d -j RETURN" % (i, 1000 + i), "-A C%d -j C%d" % (i, i + 1), "-A C%d -j C%d" % (i, i + 1)]
    lines += ["-A C30 -p tcp -j ACCEPT", "COMMIT"]
    f.write("\n".join(lines) + "\n")
with open(f"{d}/objects-10k.asa", "w") as f:
    f.write("interface Gi0/0\n nameif outside\n security-level 0\ninterface Gi0/1\n nameif dmz\n security-level 50\n")
    for i in range(10_000):
        f.write("object network H%d\n host 198.%d.%d.%d\n" % (i, 18 + (i >> 16 & 1), i >> 8 & 255, i & 255))
    f.write("object-group network MANY\n" + "".join(" network-object object H%d\n" % i for i in range(10_000)))
    f.write("access-list OUT extended deny tcp object-group MANY any\naccess-list OUT extended permit ip any any\naccess-group OUT in interface outside\n")
PY
for case in ipset-100k.iptables:iptables set-100k.nft:nftables ports-32k.nft:nftables jumps-30.iptables:iptables objects-10k.asa:asa; do
  file=${case%%:*}; format=${case##*:}
  /usr/bin/env time -f "$file: %e s, peak %M KiB" target/release/portplan audit \
    --firewall fw-external --format "$format" --config "$dir/$file" >/dev/null 2>"$dir/time" || true
  tail -1 "$dir/time"
done
