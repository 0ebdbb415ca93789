//! The nftables reader against the kernel: one ruleset per construct of issue 13 (one-line chain
//! headers, verdict maps, concatenations, `define`, family scoping, prerouting and netdev ingress
//! drops, interface sets, non-terminal statements, command-style scripts) is loaded with `nft -f`
//! into the lab's firewall, and the audit's verdict for each flow is compared with real packets.
//! The JSON path (`nft -j list ruleset` from the namespace) must never contradict the kernel
//! either; it may only be less sure.

use crate::differential::Rng;
use crate::harness::flows::{self, Check};
use crate::harness::{Lab, lab_prerequisites};
use crate::load;

const PORTS: [u16; 8] = [80, 443, 3478, 5061, 5269, 8080, 50000, 55000];

/// (name, ruleset) pairs, each exercising one construct.
fn rulesets() -> Vec<(&'static str, String)> {
    let est = "ct state established,related accept";
    vec![
        (
            "one-line chain header",
            format!(
                "table inet d {{\n chain forward {{ type filter hook forward priority 0; policy drop; {est}; tcp dport {{ 443, 5061 }} accept; udp dport 3478 accept; }}\n}}\n"
            ),
        ),
        (
            "inline vmap",
            format!(
                "table inet d {{\n chain forward {{\n  type filter hook forward priority filter; policy accept;\n  {est}\n  tcp dport vmap {{ 443 : accept, 5061 : drop, 80 : drop }}\n  udp dport vmap {{ 3478 : drop }}\n }}\n}}\n"
            ),
        ),
        (
            "named vmap with goto",
            format!(
                "table inet d {{\n map m {{\n  type inet_service : verdict\n  elements = {{ 443 : goto web, 5061 : drop }}\n }}\n chain web {{\n  ip daddr 203.0.113.11 accept\n  drop\n }}\n chain forward {{\n  type filter hook forward priority 0; policy accept;\n  {est}\n  tcp dport vmap @m\n }}\n}}\n"
            ),
        ),
        (
            "concatenations",
            format!(
                "table inet d {{\n set s {{\n  type ipv4_addr . inet_service\n  elements = {{ 203.0.113.11 . 443, 203.0.113.13 . 5061, 198.51.100.250 . 80 }}\n }}\n chain forward {{\n  type filter hook forward priority 0; policy drop;\n  {est}\n  ip daddr . tcp dport @s accept\n  ip daddr . udp dport {{ 203.0.113.21 . 3478 }} accept\n }}\n}}\n"
            ),
        ),
        (
            "define",
            format!(
                "define EDGE = {{ 203.0.113.11, 203.0.113.21, 198.51.100.250 }}\ndefine P = {{ 443, 3478 }}\ntable inet d {{\n chain forward {{\n  type filter hook forward priority 0; policy drop;\n  {est}\n  ip daddr $EDGE th dport $P accept\n }}\n}}\n"
            ),
        ),
        (
            "ip6 nexthdr in inet",
            format!(
                "table inet d {{\n chain forward {{\n  type filter hook forward priority 0; policy accept;\n  {est}\n  ip6 nexthdr tcp drop\n  meta nfproto ipv6 udp dport 3478 drop\n  tcp dport 5061 drop\n }}\n}}\n"
            ),
        ),
        (
            "prerouting filter drop",
            format!(
                "table ip raw {{\n chain pre {{\n  type filter hook prerouting priority raw; policy accept;\n  ip daddr 203.0.113.11 tcp dport 443 drop\n  udp dport 3478 drop\n }}\n}}\ntable inet d {{\n chain forward {{\n  type filter hook forward priority 0; policy accept;\n  {est}\n }}\n}}\n"
            ),
        ),
        (
            "netdev ingress drop",
            format!(
                "table netdev e {{\n chain in {{\n  type filter hook ingress device \"outside\" priority 0; policy accept;\n  ip daddr 203.0.113.13 tcp dport 5061 drop\n  ip daddr 203.0.113.11 udp dport 3478 drop\n }}\n}}\ntable inet d {{\n chain forward {{\n  type filter hook forward priority 0; policy accept;\n  {est}\n }}\n}}\n"
            ),
        ),
        (
            "interface sets",
            format!(
                "table inet d {{\n chain forward {{\n  type filter hook forward priority 0; policy drop;\n  {est}\n  iifname {{ \"outside\", \"lo\" }} tcp dport 443 accept\n  oifname {{ \"outside\", \"nothere\" }} udp dport 3478 accept\n  oifname \"out*\" tcp dport 80 accept\n }}\n}}\n"
            ),
        ),
        (
            "mark set and reject",
            format!(
                "table inet d {{\n chain forward {{\n  type filter hook forward priority 0; policy drop;\n  {est}\n  tcp dport 443 meta mark set 1 counter accept\n  udp dport 3478 ct mark set 0x2 log prefix \"m \" accept\n  tcp dport 5061 drop\n  th dport 50000-59999 accept\n }}\n}}\n"
            ),
        ),
        (
            "add-command script",
            format!(
                "add table inet d\nadd chain inet d forward {{ type filter hook forward priority 0 ; policy drop ; }}\nadd rule inet d forward {est}\nadd set inet d nets {{ type ipv4_addr ; flags interval ; }}\nadd element inet d nets {{ 203.0.113.0/28, 198.51.100.240-198.51.100.255 }}\nadd rule inet d forward ip daddr @nets tcp dport != 5061 accept\n"
            ),
        ),
    ]
}

#[test]
fn nft_reader_agrees_with_the_kernel_per_construct() {
    use portplan::audit::eval::{self, Fate};
    use portplan::audit::model::Config;
    use portplan::audit::space::{PROTO_TCP, PROTO_UDP, PacketBox, Region, addr_value};
    use portplan::audit::{self, Format};
    use portplan::catalog::Transport;
    use portplan::plan::Family;
    let Some(_guard) = lab_prerequisites(&["nft"]) else {
        return;
    };
    let (t, _) = load("reference.toml");
    let lab = Lab::build(&t, "ppnft");
    let fw = lab.firewall_ns("fw-external").to_string();
    let outside: Vec<std::net::IpAddr> = vec!["198.51.100.250".parse().unwrap()];
    let inside: Vec<std::net::IpAddr> = [
        "203.0.113.11",
        "203.0.113.13",
        "203.0.113.21",
        "203.0.113.30",
        "203.0.113.100",
    ]
    .iter()
    .map(|a| a.parse().unwrap())
    .collect();
    let verdict = |config: &Config, src, dst, iif: &str, oif: &str, tcp: bool, port| {
        let point = Region::of(PacketBox {
            src: (addr_value(src), addr_value(src)),
            dst: (addr_value(dst), addr_value(dst)),
            proto: if tcp { PROTO_TCP } else { PROTO_UDP },
            port: (port, port),
        });
        let pieces = eval::evaluate(config, Family::V4, iif, oif, point);
        match pieces.as_slice() {
            [p] => match &p.fate {
                Fate::Allowed(_) => Some(true),
                Fate::Denied(_) => Some(false),
                Fate::Uncertain(_) => None,
            },
            _ => None,
        }
    };
    let mut checked = 0;
    let mut allowed = 0;
    let mut json_uncertain = 0;
    let mut disagreements = Vec::new();
    for (n, (name, text)) in rulesets().into_iter().enumerate() {
        let _ = lab.exec(&fw, &["nft", "flush", "ruleset"]);
        let out = lab.exec_stdin(&fw, "nft -f -", &text);
        assert!(
            out.status.success(),
            "{name}: {}\n{text}",
            String::from_utf8_lossy(&out.stderr)
        );
        let config = audit::parse(Format::Nftables, &text).unwrap();
        assert!(config.unparsed.is_empty(), "{name}: {:?}", config.unparsed);
        let listed = lab.exec(&fw, &["nft", "-j", "list", "ruleset"]);
        let json = String::from_utf8_lossy(&listed.stdout).to_string();
        let json_config = audit::parse(Format::NftablesJson, &json).ok();
        let mut rng = Rng(n as u64 * 104_729 + 17);
        let mut checks: Vec<Check> = Vec::new();
        for _ in 0..60 {
            let outbound = rng.chance(50);
            let (src, dst, iif, oif) = if outbound {
                (*rng.pick(&inside), *rng.pick(&outside), "dmz", "outside")
            } else {
                (*rng.pick(&outside), *rng.pick(&inside), "outside", "dmz")
            };
            let tcp = rng.chance(50);
            let port = *rng.pick(&PORTS);
            if checks.iter().any(|x| {
                x.src == src
                    && x.dst == dst
                    && x.port == port
                    && (x.transport == Transport::Tcp) == tcp
            }) {
                continue;
            }
            let Some(open) = verdict(&config, src, dst, iif, oif, tcp, port) else {
                disagreements.push(format!(
                    "{name}: text verdict uncertain for {src} -> {dst} {port}"
                ));
                continue;
            };
            match json_config
                .as_ref()
                .map(|c| verdict(c, src, dst, iif, oif, tcp, port))
            {
                Some(Some(j)) if j != open => disagreements.push(format!(
                    "{name}: JSON says {j}, text says {open} for {src} -> {dst} {port}\n{json}"
                )),
                Some(Some(_)) => {}
                _ => json_uncertain += 1,
            }
            checks.push(Check {
                label: format!("{name} {}", if open { "allowed" } else { "denied" }),
                src_ns: lab.owner(src).unwrap().to_string(),
                src,
                dst_ns: lab.owner(dst).unwrap().to_string(),
                dst,
                transport: if tcp { Transport::Tcp } else { Transport::Udp },
                port,
                expect_open: open,
            });
        }
        checked += checks.len();
        allowed += checks.iter().filter(|c| c.expect_open).count();
        for (c, v) in flows::run_all(&lab, &checks) {
            disagreements.push(format!("{name}: {}\n{text}", flows::describe(&c, v)));
        }
    }
    eprintln!(
        "differential (nft constructs): {checked} flows ({allowed} allowed), {json_uncertain} where the JSON reading was uncertain, {} disagreements",
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
