//! The audit's verdicts against the kernel on rulesets written the way people write them: verdict
//! maps, raw/mangle drops, repeated iptables matches, `-c` counters, interface sets, one-line chains, `define`, filter chains on prerouting and netdev ingress,
//! family-scoped matches in `inet` tables, marks; and the cold trial's: TCP flag matches, rulesets
//! without an established accept (the replies decide), the security table, ipset `nomatch`,
//! rule-per-address blocklists, netdev egress, an ip6 table's policy; iptables restore commands
//! (`-I`, `-D`, `-F`, `-P`, `-N`, `-X`, `-Z`), a table given twice, ipset `del`/`flush`, and files
//! iptables-restore refuses (every verdict uncertain); conntrack state matches before conntrack
//! (nft priority raw, the iptables raw table), `notrack`, dormant tables and a bridge-only ruleset.
//! Each ruleset is loaded into the lab firewall and
//! a grid of flows in both directions is sent for real (verdicts include the replies); every definite verdict must match what
//! the kernel did, and a construct portplan cannot read must give `uncertain`, never a verdict.

use crate::harness::flows::{self, Check};
use crate::harness::{Lab, lab_prerequisites};
use crate::load;
use portplan::audit::eval::{self, Fate};
use portplan::audit::space::{PROTO_TCP, PROTO_UDP, PacketBox, Region, addr_value};
use portplan::catalog::Transport;
use portplan::plan::Family;

const OUTSIDE: &str = "198.51.100.250";
const INSIDE: [&str; 3] = ["203.0.113.11", "203.0.113.21", "203.0.113.101"];
const PORTS: [u16; 6] = [443, 3478, 5061, 5269, 8080, 50000];

/// (name, nft ruleset); every one is loaded with `nft -f`.
const NFT: &[(&str, &str)] = &[
    (
        "inline verdict map",
        "table inet fw {\n chain forward { type filter hook forward priority 0; policy accept;\n  ct state established,related accept\n  tcp dport vmap { 443 : accept, 5061 : drop, 5269 : drop }\n  udp dport vmap { 3478 : drop }\n }\n}\n",
    ),
    (
        "chain header and rules on one line",
        "table inet fw { chain forward { type filter hook forward priority 0; policy drop; ct state established,related accept; iifname \"outside\" tcp dport { 443, 5061 } accept; oifname \"outside\" udp dport 3478 accept; }; }\n",
    ),
    (
        "define variables",
        "define EDGE = { 203.0.113.11, 203.0.113.21 }\ndefine SIP = 5061\ntable inet fw {\n chain forward {\n  type filter hook forward priority 0; policy drop;\n  ct state established,related accept\n  ip daddr $EDGE tcp dport $SIP accept\n  ip saddr $EDGE udp dport 3478 accept\n }\n}\n",
    ),
    (
        "ip6 match in an inet table leaves IPv4 alone",
        "table inet fw {\n chain forward { type filter hook forward priority 0; policy accept;\n  ip6 nexthdr tcp drop\n  meta nfproto ipv6 udp dport 3478 drop\n  ip protocol udp udp dport 5061 drop\n }\n}\n",
    ),
    (
        "drop in a prerouting filter chain",
        "table inet pre {\n chain pre { type filter hook prerouting priority -150; policy accept; tcp dport 5061 drop; }\n}\ntable inet fw {\n chain forward { type filter hook forward priority 0; policy accept; }\n}\n",
    ),
    (
        "drop in a netdev ingress chain",
        "table netdev edge {\n chain ing { type filter hook ingress device \"outside\" priority 0; policy accept; udp dport 3478 drop; tcp dport 443 drop; }\n}\n",
    ),
    (
        "interface sets and mark set before accept",
        "table inet fw {\n chain forward { type filter hook forward priority 0; policy drop;\n  ct state established,related accept\n  iifname { \"outside\", \"nowhere\" } tcp dport 5061 meta mark set 1 accept\n  oifname { \"outside\" } counter udp dport { 3478, 50000 } accept\n }\n}\n",
    ),
    (
        "named verdict map",
        "table inet fw {\n map ports { type inet_service : verdict; elements = { 5061 : drop } }\n chain forward { type filter hook forward priority 0; policy accept;\n  tcp dport vmap @ports\n }\n}\n",
    ),
    (
        "concatenated set",
        "table inet fw {\n chain forward { type filter hook forward priority 0; policy accept;\n  ip daddr . tcp dport { 203.0.113.11 . 5061 } drop\n }\n}\n",
    ),
    (
        "jump into a chain chosen by a verdict map",
        "table ip fw {\n chain sip { tcp dport 5061 accept; return; }\n chain media { udp dport 3478 accept; }\n chain forward { type filter hook forward priority 0; policy drop;\n  ct state established,related accept\n  iifname vmap { \"outside\" : jump sip, \"dmz\" : goto media }\n  tcp dport 443 accept\n }\n}\n",
    ),
    // cold trial: chains that were never read, and family-scoped policies
    (
        "drop in a netdev egress chain",
        "table netdev eg {\n chain out { type filter hook egress device \"dmz\" priority 0; policy accept; udp dport 3478 drop; }\n}\n",
    ),
    (
        "an ip6 table's policy drop leaves IPv4 alone",
        "table ip6 six {\n chain f { type filter hook forward priority 0; policy drop; }\n chain p { type filter hook prerouting priority 0; policy drop; }\n}\ntable inet fw {\n chain forward { type filter hook forward priority 0; policy drop; ct state established,related accept; tcp dport { 443, 5061 } accept; }\n}\n",
    ),
    (
        "no established accept: the replies are dropped",
        "table inet fw {\n chain forward { type filter hook forward priority 0; policy drop;\n  tcp dport 443 accept\n  udp dport 3478 accept\n  ip saddr 203.0.113.21 accept\n }\n}\n",
    ),
    // cold trial (issue 13): conntrack state before conntrack, dormant and bridge-only tables
    (
        "ct state invalid drop before conntrack (priority raw): every packet is invalid there",
        "table inet r {\n chain pre { type filter hook prerouting priority raw; policy accept; ct state invalid drop; }\n}\n",
    ),
    (
        "ct state accept at priority -300 with policy drop: no packet is new or established yet",
        "table inet r {\n chain pre { type filter hook prerouting priority -300; policy drop; ct state established,related,new accept; }\n}\ntable inet fw {\n chain forward { type filter hook forward priority 0; policy accept; }\n}\n",
    ),
    (
        "ct state untracked accept before conntrack does not match (the state is invalid)",
        "table inet r {\n chain pre { type filter hook prerouting priority -300; policy drop; ct state untracked accept; udp dport 3478 accept; }\n}\n",
    ),
    (
        "ct state invalid drop after conntrack (priority -150) spares clean flows",
        "table inet r {\n chain pre { type filter hook prerouting priority -150; policy drop; ct state invalid drop; ct state new,established accept; }\n}\n",
    ),
    (
        "a dormant table filters nothing",
        "table inet fw {\n flags dormant;\n chain forward { type filter hook forward priority 0; policy drop; }\n}\ntable inet on {\n chain forward { type filter hook forward priority 0; policy accept; udp dport 3478 drop; }\n}\n",
    ),
    (
        "a bridge-only ruleset does not filter routed traffic",
        "table bridge b {\n chain f { type filter hook forward priority 0; policy drop; }\n}\n",
    ),
];

/// Rulesets portplan reads only in part: their verdicts on the affected flows must be uncertain.
const NFT_UNREAD: &[(&str, &str)] = &[
    (
        // untracked packets match neither `ct state new` nor `established`: the kernel drops them
        "notrack before conntrack",
        "table inet r {\n chain pre { type filter hook prerouting priority raw; policy accept; ip daddr 203.0.113.21 notrack; }\n}\ntable inet fw {\n chain forward { type filter hook forward priority 0; policy drop; ct state established,related accept; ct state new accept; }\n}\n",
    ),
    (
        // the kernel passed these flows although the chain drops them: a nat chain only sees a
        // connection without a NAT binding (conntrack may hold one from an earlier flow)
        "drop in a nat chain",
        "table ip n {\n chain pre { type nat hook prerouting priority -100; policy accept; tcp dport 5061 drop; }\n}\ntable inet fw {\n chain forward { type filter hook forward priority 0; policy accept; }\n}\n",
    ),
    (
        "match on a packet mark",
        "table inet fw {\n chain forward { type filter hook forward priority 0; policy accept;\n  meta mark 0x1 tcp dport 5061 drop\n }\n}\n",
    ),
    (
        "rate limit",
        "table inet fw {\n chain forward { type filter hook forward priority 0; policy drop;\n  ct state established,related accept\n  udp dport 3478 limit rate 10/second accept\n  tcp dport 443 accept\n }\n}\n",
    ),
];

/// (name, iptables-save text); every one is loaded with `iptables-restore` (lines before the
/// first `*table` are ipset lines, loaded with `ipset restore` first).
const IPTABLES: &[(&str, &str)] = &[
    (
        "TCP flags: SYN-less accepts do not admit a connection, --syn ones do",
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A FORWARD -p tcp -m tcp ! --syn --dport 443 -j ACCEPT\n-A FORWARD -p tcp -m tcp --tcp-flags SYN,ACK ACK --dport 5061 -j ACCEPT\n-A FORWARD -p tcp -m tcp ! --tcp-flags FIN,SYN,RST,ACK SYN --dport 8080 -j ACCEPT\n-A FORWARD -p tcp -m tcp --syn --dport 5269 -j ACCEPT\n-A FORWARD -p udp -j ACCEPT\nCOMMIT\n",
    ),
    (
        "a drop of non-SYN packets after the established accept",
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A FORWARD -p tcp -m tcp ! --tcp-flags FIN,SYN,RST,ACK SYN -m tcp --dport 443 -j DROP\n-A FORWARD -p tcp -j ACCEPT\n-A FORWARD -p udp --dport 3478 -j ACCEPT\nCOMMIT\n",
    ),
    (
        "no established accept: the replies are dropped",
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -p tcp -m tcp --dport 443 -j ACCEPT\n-A FORWARD -p udp -m udp --dport 3478 -j ACCEPT\n-A FORWARD -s 203.0.113.21/32 -j ACCEPT\nCOMMIT\n",
    ),
    (
        "drop in the security table's FORWARD",
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n*security\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -p tcp -m tcp --dport 5061 -j DROP\nCOMMIT\n",
    ),
    (
        "ipset with a nomatch entry",
        "create ppcoldnm hash:net family inet\nadd ppcoldnm 203.0.113.0/24\nadd ppcoldnm 203.0.113.16/28 nomatch\nadd ppcoldnm 203.0.113.20/30\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A FORWARD -m set --match-set ppcoldnm dst -j ACCEPT\n-A FORWARD -m set --match-set ppcoldnm src -p udp -j ACCEPT\nCOMMIT\n",
    ),
    (
        "rule-per-address blocklists (sources, then destinations)",
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -s 198.51.100.241/32 -p tcp -m tcp --dport 443 -j DROP\n-A FORWARD -s 198.51.100.242/32 -p tcp -m tcp --dport 443 -j DROP\n-A FORWARD -s 198.51.100.243/32 -p tcp -m tcp --dport 443 -j DROP\n-A FORWARD -s 198.51.100.244/32 -p tcp -m tcp --dport 443 -j DROP\n-A FORWARD -s 198.51.100.245/32 -p tcp -m tcp --dport 443 -j DROP\n-A FORWARD -s 198.51.100.246/32 -p tcp -m tcp --dport 443 -j DROP\n-A FORWARD -s 198.51.100.247/32 -p tcp -m tcp --dport 443 -j DROP\n-A FORWARD -s 198.51.100.248/32 -p tcp -m tcp --dport 443 -j DROP\n-A FORWARD -s 198.51.100.250/32 -p tcp -m tcp --dport 443 -j DROP\n-A FORWARD -d 203.0.113.1/32 -p udp -j DROP\n-A FORWARD -d 203.0.113.2/32 -p udp -j DROP\n-A FORWARD -d 203.0.113.3/32 -p udp -j DROP\n-A FORWARD -d 203.0.113.4/32 -p udp -j DROP\n-A FORWARD -d 203.0.113.5/32 -p udp -j DROP\n-A FORWARD -d 203.0.113.6/32 -p udp -j DROP\n-A FORWARD -d 203.0.113.7/32 -p udp -j DROP\n-A FORWARD -d 203.0.113.21/32 -p udp -j DROP\n-A FORWARD -d 203.0.113.22/32 -p udp -j DROP\nCOMMIT\n",
    ),
    (
        "drop in raw PREROUTING and mangle FORWARD",
        "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -p tcp -m tcp --dport 5061 -j DROP\nCOMMIT\n*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A FORWARD -p udp -m udp --dport 3478 -j DROP\n-A POSTROUTING -p tcp -m tcp --dport 8080 -j MARK --set-mark 1\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n",
    ),
    (
        "repeated matches are all required",
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A FORWARD -p tcp -m tcp --dport 5061 -m multiport --dports 443,5061 -j ACCEPT\n-A FORWARD -s 203.0.113.0/24 -m iprange --src-range 203.0.113.20-203.0.113.30 -p udp -j ACCEPT\n-A FORWARD -p tcp -m conntrack --ctstate ESTABLISHED -m conntrack --ctstate NEW -j ACCEPT\nCOMMIT\n",
    ),
    (
        "counters before every rule (iptables-save -c)",
        "*filter\n:INPUT ACCEPT [10:100]\n:FORWARD DROP [5:50]\n:OUTPUT ACCEPT [0:0]\n[12:3400] -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n[0:0] -A FORWARD -i outside -p tcp -m tcp --dport 443 -j ACCEPT\n[0:0] -A FORWARD -o outside -p udp -m multiport --dports 3478,50000 -j ACCEPT\nCOMMIT\n",
    ),
    // issue 13: restore commands applied in file order, a table given twice, ipset commands
    (
        "insert with and without a number, delete by number and by rule",
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -p tcp -m tcp --dport 443 -j ACCEPT\n-A FORWARD -p udp -m udp --dport 3478 -j ACCEPT\n-I FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-I FORWARD 2 -d 203.0.113.11/32 -p tcp -m tcp --dport 443 -j DROP\n-A FORWARD -p tcp -m tcp --dport 5061 -j ACCEPT\n-D FORWARD 4\n-D FORWARD -p tcp --dport 5061 -j ACCEPT\n-A FORWARD -d 203.0.113.21 -p udp -j ACCEPT\nCOMMIT\n",
    ),
    (
        "flush, new chain, delete chain, policy and zero commands",
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:OLD - [0:0]\n-A FORWARD -p tcp -j DROP\n-F FORWARD\n-X OLD\n-N SIP\n-A SIP -p tcp -m tcp --dport 5061 -j ACCEPT\n-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A FORWARD -j SIP\n-A FORWARD -p udp -m udp --dport 50000 -j ACCEPT\n-Z\n-P FORWARD DROP\nCOMMIT\n",
    ),
    (
        "a second filter block replaces the first",
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -p udp -j DROP\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A FORWARD -p udp -j ACCEPT\n-A FORWARD -p tcp -m tcp --dport 443 -j ACCEPT\nCOMMIT\n",
    ),
    (
        "ipset del and flush after the adds",
        "create ppcolddel hash:ip family inet\nadd ppcolddel 203.0.113.11\nadd ppcolddel 203.0.113.21\nadd ppcolddel 203.0.113.101\ndel ppcolddel 203.0.113.21\ncreate ppcoldfl hash:net family inet\nadd ppcoldfl 198.51.100.0/24\nadd ppcoldfl 203.0.113.0/24\nflush ppcoldfl\nadd ppcoldfl 203.0.113.101\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A FORWARD -m set --match-set ppcolddel dst -p tcp -j ACCEPT\n-A FORWARD -m set --match-set ppcoldfl src -j ACCEPT\nCOMMIT\n",
    ),
    (
        "conntrack INVALID drop in raw PREROUTING: every packet is invalid there",
        "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -m conntrack --ctstate INVALID -j DROP\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n",
    ),
    (
        "state accept in raw PREROUTING with policy DROP: no packet is new or established yet",
        "*raw\n:PREROUTING DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -m state --state NEW,ESTABLISHED,RELATED -j ACCEPT\n-A PREROUTING -p udp -m udp --dport 3478 -j ACCEPT\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n",
    ),
];

/// iptables files the kernel loads but whose meaning differs between iptables-nft and legacy
/// iptables: portplan must give `uncertain`, never a verdict.
const IPTABLES_UNREAD: &[(&str, &str)] = &[(
    "zero after a policy command (iptables-nft puts the header's policy back)",
    "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-P FORWARD DROP\n-Z\nCOMMIT\n",
)];

/// Files iptables-restore refuses (the kernel keeps the ruleset it had): portplan must say
/// nothing definite about them.
const IPTABLES_REFUSED: &[(&str, &str)] = &[
    (
        "no COMMIT",
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -p udp -j DROP\n",
    ),
    (
        "prefix length 33",
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -s 1.2.3.4/33 -j DROP\nCOMMIT\n",
    ),
    (
        "--dport without a protocol",
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD --dport 5061 -j DROP\nCOMMIT\n",
    ),
    (
        "port 70000",
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -p tcp -m tcp --dport 70000 -j DROP\nCOMMIT\n",
    ),
    (
        "unknown table",
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n*filtre\n:FORWARD DROP [0:0]\nCOMMIT\n",
    ),
    (
        "rule in an undefined chain",
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A NOSUCH -j DROP\nCOMMIT\n",
    ),
    (
        "jump to an undefined chain",
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -p udp -j NOSUCHCHAIN\nCOMMIT\n",
    ),
    (
        "insert beyond the end of the chain",
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-I FORWARD 2 -j DROP\nCOMMIT\n",
    ),
    (
        "delete of a rule the chain does not have",
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-D FORWARD 1\nCOMMIT\n",
    ),
];

struct Tally {
    checked: usize,
    uncertain: usize,
    disagreements: Vec<String>,
}

/// Loads `text` into the firewall and compares every definite verdict with real packets.
fn compare(
    lab: &Lab,
    fw: &str,
    format: portplan::audit::Format,
    (name, text): (&str, &str),
    tally: &mut Tally,
) {
    let _ = lab.exec(fw, &["nft", "flush", "ruleset"]);
    let _ = lab.exec(fw, &["ipset", "destroy"]);
    let load = match format {
        portplan::audit::Format::Iptables => "iptables-restore",
        _ => "nft -f -",
    };
    // ipset lines come first in an iptables input; the kernel needs the sets before the rules
    let (sets, rules) = match text.find("\n*") {
        Some(at) if format == portplan::audit::Format::Iptables && !text.starts_with('*') => {
            text.split_at(at + 1)
        }
        _ => ("", text),
    };
    if !sets.is_empty() {
        let out = lab.exec_stdin(fw, "ipset restore -exist", sets);
        assert!(
            out.status.success(),
            "{name}: ipset restore refused it: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = lab.exec_stdin(fw, load, rules);
    assert!(
        out.status.success(),
        "{name}: {load} refused it: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = portplan::audit::parse(format, text).unwrap();
    let outside: std::net::IpAddr = OUTSIDE.parse().unwrap();
    let mut checks = Vec::new();
    for inside in INSIDE {
        let inside: std::net::IpAddr = inside.parse().unwrap();
        for (src, dst, iif, oif) in [
            (outside, inside, "outside", "dmz"),
            (inside, outside, "dmz", "outside"),
        ] {
            for transport in [Transport::Tcp, Transport::Udp] {
                for port in PORTS {
                    let point = Region::of(PacketBox {
                        src: (addr_value(src), addr_value(src)),
                        dst: (addr_value(dst), addr_value(dst)),
                        proto: if transport == Transport::Tcp {
                            PROTO_TCP
                        } else {
                            PROTO_UDP
                        },
                        port: (port, port),
                    });
                    // the harness completes a TCP handshake or a UDP echo: the replies count
                    let pieces = eval::with_replies(
                        &config,
                        Family::V4,
                        iif,
                        oif,
                        eval::evaluate(&config, Family::V4, iif, oif, point),
                    );
                    assert_eq!(pieces.len(), 1, "{name}");
                    let open = match &pieces[0].fate {
                        Fate::Allowed(_) => true,
                        Fate::Denied(_) => false,
                        Fate::Uncertain(_) => {
                            tally.uncertain += 1;
                            continue;
                        }
                    };
                    checks.push(Check {
                        label: format!("{name}: {}", if open { "allowed" } else { "denied" }),
                        src_ns: lab.owner(src).unwrap().to_string(),
                        src,
                        dst_ns: lab.owner(dst).unwrap().to_string(),
                        dst,
                        transport,
                        port,
                        expect_open: open,
                    });
                }
            }
        }
    }
    tally.checked += checks.len();
    for (c, v) in flows::run_all(lab, &checks) {
        tally.disagreements.push(flows::describe(&c, v));
    }
}

#[test]
fn audit_agrees_with_the_kernel_on_real_world_constructs() {
    let Some(_guard) = lab_prerequisites(&["nft", "iptables-restore"]) else {
        return;
    };
    let (t, _) = load("reference.toml");
    let lab = Lab::build(&t, "ppcons");
    let fw = lab.firewall_ns("fw-external").to_string();
    let mut tally = Tally {
        checked: 0,
        uncertain: 0,
        disagreements: Vec::new(),
    };
    use portplan::audit::Format;
    for (name, text) in NFT {
        compare(&lab, &fw, Format::Nftables, (name, text), &mut tally);
    }
    for (name, text) in IPTABLES {
        compare(&lab, &fw, Format::Iptables, (name, text), &mut tally);
    }
    let definite = tally.checked;
    assert_eq!(
        tally.uncertain, 0,
        "these constructs are fully readable, yet {} verdicts were uncertain",
        tally.uncertain
    );
    for (name, text) in NFT_UNREAD {
        let before = tally.uncertain;
        compare(&lab, &fw, Format::Nftables, (name, text), &mut tally);
        assert!(
            tally.uncertain > before,
            "{name}: portplan cannot read it, so some verdicts must be uncertain"
        );
    }
    // a refused file: iptables-restore stops at the line (what was committed before stays, the
    // rest is the ruleset the kernel had); no verdict may be definite
    for (name, text) in IPTABLES_REFUSED {
        let _ = lab.exec(&fw, &["nft", "flush", "ruleset"]);
        let out = lab.exec_stdin(&fw, "iptables-restore", text);
        assert!(
            !out.status.success(),
            "{name}: iptables-restore accepted it, so it is no refusal case"
        );
        let config = portplan::audit::parse(Format::Iptables, text).unwrap();
        let point = Region::of(PacketBox {
            src: (0, u128::from(u32::MAX)),
            dst: (0, u128::from(u32::MAX)),
            proto: PROTO_TCP | PROTO_UDP,
            port: (0, u16::MAX),
        });
        for piece in eval::evaluate(&config, Family::V4, "outside", "dmz", point) {
            assert!(
                matches!(piece.fate, Fate::Uncertain(_)),
                "{name}: a definite verdict on a file the kernel refuses: {:?}",
                piece.fate
            );
        }
    }
    for (name, text) in IPTABLES_UNREAD {
        let before = tally.uncertain;
        compare(&lab, &fw, Format::Iptables, (name, text), &mut tally);
        assert!(
            tally.uncertain > before,
            "{name}: portplan cannot read it, so some verdicts must be uncertain"
        );
    }
    eprintln!(
        "constructs: {} refused iptables files, every verdict uncertain",
        IPTABLES_REFUSED.len()
    );
    eprintln!(
        "constructs: {} flows checked against the kernel over {} rulesets ({definite} on fully read ones), {} uncertain, {} disagreements",
        tally.checked,
        NFT.len() + IPTABLES.len() + NFT_UNREAD.len() + IPTABLES_UNREAD.len(),
        tally.uncertain,
        tally.disagreements.len()
    );
    assert!(definite >= 500, "{definite} flows");
    assert!(
        tally.disagreements.is_empty(),
        "{}",
        tally.disagreements.join("\n")
    );
}
