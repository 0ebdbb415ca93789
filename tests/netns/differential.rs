//! The audit evaluator against the kernel: random rulesets loaded for real, verdicts compared.

use crate::harness::flows::{self, Check};
use crate::harness::{Lab, lab_prerequisites};
use crate::load;

pub(crate) use crate::common::Rng;

#[derive(Clone)]
struct GenRule {
    in_user_chain: bool,
    iif: Option<(&'static str, bool)>,
    src: Option<(String, bool)>,
    dst: Option<(String, bool)>,
    proto: Option<&'static str>,
    /// single ports, ranges (a, b), negated single port
    dports: Option<(Vec<(u16, u16)>, bool)>,
    action: &'static str, // accept, drop, return, jump
}

const PORTS: [u16; 10] = [80, 443, 3478, 5061, 5269, 8080, 50000, 54999, 55000, 59999];
const NETS: [&str; 9] = [
    "203.0.113.0/24",
    "203.0.113.0/28",
    "203.0.113.11/32",
    "203.0.113.100/31",
    "203.0.113.16/28",
    "198.51.100.0/24",
    "198.51.100.240/28",
    "0.0.0.0/1",
    "128.0.0.0/1",
];

fn random_ruleset(seed: u64) -> (Vec<GenRule>, bool) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let n = 8 + rng.below(20);
    let mut rules = Vec::new();
    for _ in 0..n {
        let proto = if rng.chance(70) {
            Some(*rng.pick(&["tcp", "udp"]))
        } else {
            None
        };
        let dports = proto.filter(|_| rng.chance(75)).map(|_| {
            if rng.chance(20) {
                (
                    vec![(*rng.pick(&PORTS), 0)]
                        .into_iter()
                        .map(|(p, _)| (p, p))
                        .collect(),
                    true,
                )
            } else if rng.chance(40) {
                let a = *rng.pick(&PORTS);
                let b = *rng.pick(&PORTS);
                (vec![(a.min(b), a.max(b))], false)
            } else {
                let mut v: Vec<(u16, u16)> = (0..1 + rng.below(3))
                    .map(|_| {
                        let p = *rng.pick(&PORTS);
                        (p, p)
                    })
                    .collect();
                v.sort();
                v.dedup();
                (v, false)
            }
        });
        let in_user_chain = rng.chance(35);
        let action = match rng.below(10) {
            0..=4 => "accept",
            5..=7 => "drop",
            _ if in_user_chain => "return",
            _ => "jump",
        };
        rules.push(GenRule {
            in_user_chain,
            iif: rng
                .chance(50)
                .then(|| (*rng.pick(&["outside", "dmz"]), rng.chance(20))),
            src: rng
                .chance(50)
                .then(|| (rng.pick(&NETS).to_string(), rng.chance(15))),
            dst: rng
                .chance(60)
                .then(|| (rng.pick(&NETS).to_string(), rng.chance(15))),
            proto,
            dports,
            action,
        });
    }
    (rules, rng.chance(50))
}

fn as_iptables(rules: &[GenRule], policy_accept: bool) -> String {
    let mut s = format!(
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD {} [0:0]\n:OUTPUT ACCEPT [0:0]\n:USER - [0:0]\n-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n",
        if policy_accept { "ACCEPT" } else { "DROP" }
    );
    for r in rules {
        let mut l = format!("-A {}", if r.in_user_chain { "USER" } else { "FORWARD" });
        if let Some((i, neg)) = r.iif {
            l += &format!("{} -i {i}", if neg { " !" } else { "" });
        }
        if let Some((n, neg)) = &r.src {
            l += &format!("{} -s {n}", if *neg { " !" } else { "" });
        }
        if let Some((n, neg)) = &r.dst {
            l += &format!("{} -d {n}", if *neg { " !" } else { "" });
        }
        if let Some(p) = r.proto {
            l += &format!(" -p {p}");
        }
        if let Some((ports, neg)) = &r.dports {
            let list: Vec<String> = ports
                .iter()
                .map(|(a, b)| {
                    if a == b {
                        a.to_string()
                    } else {
                        format!("{a}:{b}")
                    }
                })
                .collect();
            if *neg {
                l += &format!(" -m {} ! --dport {}", r.proto.unwrap(), list[0]);
            } else {
                l += &format!(" -m multiport --dports {}", list.join(","));
            }
        }
        l += match r.action {
            "accept" => " -j ACCEPT",
            "drop" => " -j DROP",
            "return" => " -j RETURN",
            _ => " -j USER",
        };
        s += &l;
        s.push('\n');
    }
    s + "COMMIT\n"
}

fn as_nft(rules: &[GenRule], policy_accept: bool) -> String {
    let line = |r: &GenRule| -> String {
        let mut l = String::from("\t\t");
        if let Some((i, neg)) = r.iif {
            l += &format!("iifname {}\"{i}\" ", if neg { "!= " } else { "" });
        }
        if let Some((n, neg)) = &r.src {
            l += &format!("ip saddr {}{n} ", if *neg { "!= " } else { "" });
        }
        if let Some((n, neg)) = &r.dst {
            l += &format!("ip daddr {}{n} ", if *neg { "!= " } else { "" });
        }
        match (&r.proto, &r.dports) {
            (Some(p), Some((ports, neg))) => {
                let list: Vec<String> = ports
                    .iter()
                    .map(|(a, b)| {
                        if a == b {
                            a.to_string()
                        } else {
                            format!("{a}-{b}")
                        }
                    })
                    .collect();
                if *neg {
                    l += &format!("{p} dport != {} ", list[0]);
                } else {
                    l += &format!("{p} dport {{ {} }} ", list.join(", "));
                }
            }
            (Some(p), None) => l += &format!("meta l4proto {p} "),
            _ => {}
        }
        l += match r.action {
            "accept" => "accept",
            "drop" => "drop",
            "return" => "return",
            _ => "jump user",
        };
        l + "\n"
    };
    let mut s = format!(
        "table inet diff {{\n\tchain user {{\n{}\t}}\n\tchain forward {{\n\t\ttype filter hook forward priority filter; policy {};\n\t\tct state established,related accept\n",
        rules
            .iter()
            .filter(|r| r.in_user_chain)
            .map(line)
            .collect::<String>(),
        if policy_accept { "accept" } else { "drop" }
    );
    s += &rules
        .iter()
        .filter(|r| !r.in_user_chain)
        .map(line)
        .collect::<String>();
    s + "\t}\n}\n"
}

#[test]
fn audit_agrees_with_the_kernel_on_random_rulesets() {
    use portplan::audit::eval::{self, Fate};
    use portplan::audit::space::{PROTO_TCP, PROTO_UDP, PacketBox, Region, addr_value};
    use portplan::catalog::Transport;
    use portplan::plan::Family;
    let Some(_guard) = lab_prerequisites(&["nft", "iptables-restore"]) else {
        return;
    };
    let (t, _) = load("reference.toml");
    let lab = Lab::build(&t, "ppdiff");
    let fw = lab.firewall_ns("fw-external").to_string();
    let outside: Vec<std::net::IpAddr> = vec!["198.51.100.250".parse().unwrap()];
    let inside: Vec<std::net::IpAddr> = [
        "203.0.113.11",
        "203.0.113.13",
        "203.0.113.21",
        "203.0.113.30",
        "203.0.113.100",
        "203.0.113.101",
        "203.0.113.250",
    ]
    .iter()
    .map(|a| a.parse().unwrap())
    .collect();
    let seeds = 6u64;
    let mut checked = 0;
    let mut allowed = 0;
    let mut disagreements = Vec::new();
    for seed in 1..=seeds {
        let (rules, policy_accept) = random_ruleset(seed);
        for format in ["iptables", "nftables"] {
            let text = if format == "iptables" {
                as_iptables(&rules, policy_accept)
            } else {
                as_nft(&rules, policy_accept)
            };
            let _ = lab.exec(&fw, &["nft", "flush", "ruleset"]);
            let cmd = if format == "iptables" {
                "iptables-restore"
            } else {
                "nft -f -"
            };
            let out = lab.exec_stdin(&fw, cmd, &text);
            assert!(
                out.status.success(),
                "seed {seed} {format}: {}\n{text}",
                String::from_utf8_lossy(&out.stderr)
            );
            let config = portplan::audit::parse(format.parse().unwrap(), &text).unwrap();
            assert!(
                config.unparsed.is_empty(),
                "seed {seed} {format}: {:?}",
                config.unparsed
            );
            // flows in both directions, both protocols, ports from the rules' vocabulary
            let mut rng = Rng(seed * 7919 + if format == "iptables" { 1 } else { 2 });
            let mut checks = Vec::new();
            for _ in 0..40 {
                let outbound = rng.chance(50);
                let (src, dst, iif, oif) = if outbound {
                    (*rng.pick(&inside), *rng.pick(&outside), "dmz", "outside")
                } else {
                    (*rng.pick(&outside), *rng.pick(&inside), "outside", "dmz")
                };
                let transport = if rng.chance(50) {
                    Transport::Tcp
                } else {
                    Transport::Udp
                };
                let port = *rng.pick(&PORTS);
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
                let pieces = eval::evaluate(&config, Family::V4, iif, oif, point);
                assert_eq!(pieces.len(), 1);
                let open = match &pieces[0].fate {
                    Fate::Allowed(_) => true,
                    Fate::Denied(_) => false,
                    Fate::Uncertain(at) => panic!("seed {seed} {format}: uncertain {at:?}"),
                };
                let c = Check {
                    label: format!(
                        "seed {seed} {format} {}",
                        if open { "allowed" } else { "denied" }
                    ),
                    src_ns: lab.owner(src).unwrap().to_string(),
                    src,
                    dst_ns: lab.owner(dst).unwrap().to_string(),
                    dst,
                    transport,
                    port,
                    expect_open: open,
                };
                if !checks.iter().any(|x: &Check| {
                    x.src == c.src
                        && x.dst == c.dst
                        && x.port == c.port
                        && x.transport == c.transport
                }) {
                    checks.push(c);
                }
            }
            checked += checks.len();
            allowed += checks.iter().filter(|c| c.expect_open).count();
            for (c, v) in flows::run_all(&lab, &checks) {
                disagreements.push(format!("{}\n{text}", flows::describe(&c, v)));
            }
        }
    }
    eprintln!(
        "differential: {checked} flows over {} random rulesets ({allowed} allowed, {} dropped by the audit's verdict), {} disagreements",
        seeds * 2,
        checked - allowed,
        disagreements.len()
    );
    assert!(checked >= 300, "{checked} flows");
    assert!(
        allowed > 30 && checked - allowed > 30,
        "both verdicts are exercised"
    );
    assert!(
        disagreements.is_empty(),
        "{}",
        disagreements.join("\n---\n")
    );
}
