#!/usr/bin/env bash
# Audits generated worst cases against the reference plan (release build) and prints wall time
# and peak memory of each: an ipset of 100,000 random hosts, an nft set of 100,000 addresses,
# a port set of 32,768 ports, chains that each jump twice to the next 30 levels deep, and an ASA
# configuration with 10,000 network objects in one group (goal: each under 1 s); and the cold
# trial's worst cases: a 40,000-line blocklist, 100,000 nft rules, 50,000 chains, a 50,000-deep
# jump chain, 1,000 levels of ASA groups over 100,000 random hosts, a 32 MB ruleset (goal: a few
# seconds each, memory bounded). Last, one large set named by many rules (an ipset of 300,000
# hosts and an nft named set of 100,000 addresses, each used by 2,000 rules): the set is held
# once, not once per rule (goal: well under 1 s, memory of the order of the set).
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
# the cold trial's worst cases: rule-per-address blocklists, many and deep chains, deep ASA
# group nesting, a large ruleset without define
base = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD DROP [0:0]", ":OUTPUT ACCEPT [0:0]"]
def ip(i):
    return "10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255)
with open(f"{d}/blocklist-40k.iptables", "w") as f:
    f.write("\n".join(base + ["-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"]
        + ["-A FORWARD -s %s/32 -j DROP" % ip(i * 7 + 1) for i in range(40_000)]
        + ["-A FORWARD -p tcp -j ACCEPT", "-A FORWARD -p udp -j ACCEPT", "COMMIT"]) + "\n")
with open(f"{d}/rules-100k.nft", "w") as f:
    f.write("table inet f {\n chain forward { type filter hook forward priority 0; policy drop;\n  ct state established,related accept\n")
    f.write("".join("  ip saddr %s drop\n" % ip(i * 3 + 1) for i in range(100_000)))
    f.write("  accept\n }\n}\n")
with open(f"{d}/chains-50k.iptables", "w") as f:
    f.write("\n".join(base + [":U%d - [0:0]" % i for i in range(50_000)]
        + ["-A U%d -p tcp --dport %d -j ACCEPT" % (i, i % 60000 + 1) for i in range(50_000)]
        + ["-A FORWARD -j ACCEPT", "COMMIT"]) + "\n")
with open(f"{d}/deep-50k.iptables", "w") as f:
    f.write("\n".join(base + [":D%d - [0:0]" % i for i in range(50_000)] + ["-A FORWARD -j D0"]
        + ["-A D%d -j D%d" % (i, i + 1) for i in range(49_999)]
        + ["-A D49999 -j ACCEPT", "COMMIT"]) + "\n")
with open(f"{d}/nest-1000x100k.asa", "w") as f:
    f.write("interface Gi0/0\n nameif outside\n security-level 0\ninterface Gi0/1\n nameif dmz\n security-level 50\n")
    f.write("object-group network BIG\n" + "".join(" network-object host %s\n" % ip(random.randrange(1 << 24)) for _ in range(100_000)))
    f.write("object-group network N0\n group-object BIG\n")
    for i in range(1, 1000):
        f.write("object-group network N%d\n group-object N%d\n network-object host 10.200.%d.%d\n" % (i, i - 1, i >> 8, i & 255))
    f.write("access-list OUT extended deny tcp object-group N999 any\naccess-list OUT extended permit ip any any\naccess-group OUT in interface outside\naccess-group OUT in interface dmz\n")
with open(f"{d}/ruleset-32mb.nft", "w") as f:
    f.write("table inet f {\n chain forward { type filter hook forward priority 0; policy accept;\n")
    n = 0
    while f.tell() < 32 << 20:
        f.write('  ip saddr %s/24 ip daddr 192.0.%d.%d tcp dport %d counter drop comment "bulk %d"\n' % (ip(n << 8), n >> 8 & 255, n & 255, n % 60000 + 1, n))
        n += 1
    f.write(" }\n}\n")
with open(f"{d}/ipset-300k-x2000.iptables", "w") as f:
    f.write("create big hash:ip family inet maxelem 400000\n")
    for _ in range(300_000):
        f.write("add big 10.%d.%d.%d\n" % (random.randrange(256), random.randrange(256), random.randrange(1, 255)))
    f.write("\n".join(base + ["-A FORWARD -m set --match-set big src -p tcp --dport %d -j DROP" % (20000 + i) for i in range(2000)]
        + ["-A FORWARD -p tcp -j ACCEPT", "-A FORWARD -p udp -j ACCEPT", "COMMIT"]) + "\n")
with open(f"{d}/set-100k-x2000.nft", "w") as f:
    hosts = ", ".join(ip(i * 2) for i in range(100_000))
    f.write("table inet f {\n set s { type ipv4_addr; flags interval; elements = { %s } }\n" % hosts)
    f.write(" chain forward { type filter hook forward priority 0; policy drop;\n")
    f.write("".join("  ip saddr @s tcp dport %d drop\n" % (20000 + i) for i in range(2000)))
    f.write("  accept\n }\n}\n")
PY
for case in ipset-100k.iptables:iptables set-100k.nft:nftables ports-32k.nft:nftables jumps-30.iptables:iptables objects-10k.asa:asa \
  blocklist-40k.iptables:iptables rules-100k.nft:nftables chains-50k.iptables:iptables deep-50k.iptables:iptables \
  nest-1000x100k.asa:asa ruleset-32mb.nft:nftables ipset-300k-x2000.iptables:iptables set-100k-x2000.nft:nftables; do
  file=${case%%:*}; format=${case##*:}
  /usr/bin/env time -f "$file: %e s, peak %M KiB" target/release/portplan audit \
    --firewall fw-external --format "$format" --config "$dir/$file" >/dev/null 2>"$dir/time" || true
  tail -1 "$dir/time"
done
