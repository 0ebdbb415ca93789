//! Property tests: reading and planning never panic, whatever the input, and plans keep their
//! invariants on every topology that validates.

use portplan::catalog::ServerRole;
use portplan::plan;
use portplan::render::{self, Scope, Target};
use portplan::topology::{Topology, VipService, lint, roles};
use proptest::prelude::*;

const REFERENCE: &str = include_str!("../examples/reference.toml");

/// Everything downstream of a parsed topology must run without panicking.
fn exercise(text: &str) {
    if let Ok(t) = Topology::parse("p.toml", text) {
        let _ = lint::lint(&t);
        let p = plan::compile(&t);
        for rule in &p.rules {
            assert!(t.firewall(&rule.firewall).is_some());
            assert_ne!(rule.ingress_zone, rule.egress_zone);
            assert!(!rule.source.members.is_empty());
            assert!(!rule.destination.members.is_empty());
            assert!(!rule.rows.is_empty());
        }
        for target in Target::ALL {
            match render::render(&p, &t, *target, &Scope::All) {
                Ok(_) => {}
                // load balancer targets refuse a topology that breaks the design: an answer, not a bug
                Err(render::RenderError::Refused { findings, .. }) => assert!(!findings.is_empty()),
                // a target with nothing to serve says so (firewall targets only without firewalls)
                Err(render::RenderError::Nothing { .. })
                    if t.firewalls.is_empty()
                        || !matches!(
                            target,
                            Target::Nftables | Target::Iptables | Target::Asa | Target::Aerleon
                        ) => {}
                Err(other) => panic!("{target}: {other}"),
            }
        }
    }
}

/// (role index, load balancing index, servers as (zone a, zone b), IPv6 too)
type GenPool = (usize, usize, Vec<(usize, usize)>, bool);

#[derive(Debug, Clone)]
struct Gen {
    zones: usize,
    firewalls: Vec<Vec<usize>>,
    pools: Vec<GenPool>,
    features: Vec<bool>,
    narrow: bool,
    /// Publish single or DNS-balanced Edges through static NAT on the first firewall.
    nat: bool,
    /// Keep raw random choices (mostly invalid files) instead of repairing them.
    chaos: bool,
}

const ROLES: [&str; 9] = [
    "edge",
    "director",
    "front-end",
    "reverse-proxy",
    "office-web-apps",
    "survivable-branch",
    "mediation",
    "persistent-chat",
    "pstn-gateway",
];
const LB: [&str; 4] = ["hlb", "dns-hlb", "dns", "none"];
const FEATURES: [&str; 8] = [
    "federation",
    "ocs2007-federation",
    "xmpp",
    "centralized-logging",
    "mobility-autodiscover-http",
    "office-web-apps",
    "public-im",
    "internal-servers",
];

fn gen_strategy() -> impl Strategy<Value = Gen> {
    (
        1usize..5,
        prop::collection::vec(prop::collection::vec(0usize..5, 1..4), 0..4),
        prop::collection::vec(
            (
                0usize..9,
                0usize..4,
                prop::collection::vec((0usize..5, 0usize..5), 0..4),
                any::<bool>(),
            ),
            0..6,
        ),
        prop::collection::vec(any::<bool>(), 8),
        (any::<bool>(), any::<bool>()),
        prop::bool::weighted(0.2),
    )
        .prop_map(
            |(zones, firewalls, pools, features, (narrow, nat), chaos)| Gen {
                zones,
                firewalls,
                pools,
                features,
                narrow,
                nat,
                chaos,
            },
        )
}

/// Zone 0 is the internet; zone i > 0 owns 10.i.0.0/16 and fd00:i::/32.
fn addr(zone: usize, host: usize, v6: bool) -> String {
    if zone == 0 {
        if v6 {
            format!("2001:db8:{host}::1")
        } else {
            format!("198.51.100.{}", host + 1)
        }
    } else if v6 {
        format!("fd00:{zone}::{}", host + 1)
    } else {
        format!("10.{zone}.0.{}", host + 1)
    }
}

/// Makes a draw mostly valid: enough zones, zone indices in range, non-empty pools, a load
/// balancing mode the role supports, features only when their roles exist.
fn repaired(g: &Gen) -> Gen {
    if g.chaos {
        return g.clone();
    }
    let zones = g.zones.max(3);
    let mut firewalls: Vec<Vec<usize>> = g
        .firewalls
        .iter()
        .map(|legs| {
            let mut legs: Vec<usize> = legs.iter().map(|z| z % zones).collect();
            legs.sort();
            legs.dedup();
            if legs.len() < 2 {
                legs = vec![0, 1];
            }
            legs
        })
        .collect();
    // static NAT lives on a firewall between the internet and the Edge's external zone
    if g.nat && firewalls.first().is_none_or(|legs| legs[..2] != [0, 1]) {
        firewalls.insert(0, vec![0, 1]);
    }
    let pools: Vec<_> = g
        .pools
        .iter()
        .map(|(role, lb, servers, v6)| {
            // a mode the role supports, from the one table of role rules
            let lb = supported_mode(*role, *lb);
            let mut servers: Vec<(usize, usize)> = servers
                .iter()
                .map(|(a, b)| (1 + a % (zones - 1), 1 + b % (zones - 1)))
                .collect();
            if servers.is_empty() {
                servers.push((1, 2));
            }
            if ROLES[*role] == "edge" {
                servers.iter_mut().for_each(|s| *s = (1, 2));
            }
            if LB[lb] == "none" {
                servers.truncate(1);
            }
            (*role, lb, servers, *v6)
        })
        .collect();
    let has = |r: &str| pools.iter().any(|p| ROLES[p.0] == r);
    let features = FEATURES
        .iter()
        .zip(&g.features)
        .map(|(f, on)| {
            *on && match *f {
                "federation" => has("edge"),
                "ocs2007-federation" => has("edge") && g.features[0],
                "xmpp" => has("edge") && has("front-end"),
                "mobility-autodiscover-http" => has("reverse-proxy"),
                "office-web-apps" => has("office-web-apps") && has("reverse-proxy"),
                "public-im" => has("edge"),
                _ => true,
            }
        })
        .collect();
    Gen {
        zones,
        firewalls,
        pools,
        features,
        narrow: g.narrow,
        nat: g.nat,
        chaos: false,
    }
}

fn role_rules(role: &str) -> &'static roles::RoleRules {
    roles::rules(role.parse::<ServerRole>().unwrap()).unwrap()
}

/// The raw load balancing draw mapped onto one of the modes the role supports (index into LB).
fn supported_mode(role: usize, lb: usize) -> usize {
    let modes = role_rules(ROLES[role]).modes;
    let mode = modes[lb % modes.len()].mode;
    LB.iter().position(|l| *l == mode.as_str()).unwrap()
}

fn needs_pool_vip(role: &str, lb: &str) -> bool {
    role_rules(role)
        .modes
        .iter()
        .any(|m| m.mode.as_str() == lb && m.vips.contains(&VipService::Pool))
}

fn to_toml(g: &Gen) -> String {
    let g = &repaired(g);
    let mut s = String::from("name = \"gen\"\n[features]\n");
    for (f, on) in FEATURES.iter().zip(&g.features) {
        s += &format!("{f} = {on}\n");
    }
    s += &format!("[options]\nnarrow_any = {}\n", g.narrow);
    for z in 0..g.zones {
        if z == 0 {
            s += "[[zone]]\nname = \"z0\"\nkind = \"internet\"\nnetworks = [\"0.0.0.0/0\", \"::/0\"]\n";
        } else {
            s += &format!(
                "[[zone]]\nname = \"z{z}\"\nkind = \"{}\"\nnetworks = [\"10.{z}.0.0/16\", \"fd00:{z}::/32\"]\n",
                if z % 2 == 1 { "perimeter" } else { "internal" }
            );
        }
    }
    let mut host = 0usize;
    let mut next = || {
        host += 1;
        host
    };
    // the Edge servers' external addresses, published one to one when `nat` is drawn
    let mut natted: Vec<String> = Vec::new();
    for (i, legs) in g.firewalls.iter().enumerate() {
        s += &format!("[[firewall]]\nname = \"fw{i}\"\n");
        for (j, z) in legs.iter().enumerate() {
            s += &format!(
                "[[firewall.interface]]\nname = \"if{j}\"\nzone = \"z{z}\"\naddress = \"{}/16\"\n",
                addr(*z, next(), false)
            );
        }
        if i == 0 && g.nat {
            s += "@NAT@";
        }
    }
    for (i, (role, lb, servers, v6)) in g.pools.iter().enumerate() {
        let role = ROLES[*role];
        s += &format!(
            "[[pool]]\nname = \"p{i}\"\nrole = \"{role}\"\nload_balancing = \"{}\"\n",
            LB[*lb]
        );
        if role == "edge" && LB[*lb] != "hlb" {
            // single or DNS-balanced: no VIPs
        } else if role == "edge" {
            for (svc, z) in [("access", 1), ("webconf", 1), ("av", 1), ("internal", 2)] {
                s += &format!(
                    "[[pool.vip]]\nservice = \"{svc}\"\nzone = \"z{z}\"\naddress = \"{}\"\nsnat = {}\n",
                    addr(z, next(), false),
                    svc != "av"
                );
            }
        } else if needs_pool_vip(role, LB[*lb]) {
            s += &format!(
                "[[pool.vip]]\nservice = \"pool\"\nzone = \"z2\"\naddress = \"{}\"\n",
                addr(2, next(), false)
            );
        }
        for (k, (za, zb)) in servers.iter().enumerate() {
            s += &format!("[[pool.server]]\nname = \"p{i}s{k}\"\n");
            match role {
                "edge" => {
                    let ext: Vec<String> = (0..3).map(|_| addr(*za, next(), false)).collect();
                    if LB[*lb] != "hlb" {
                        natted.extend(ext.iter().cloned());
                    }
                    s += &format!(
                        "[[pool.server.interface]]\nname = \"external\"\nzone = \"z{za}\"\naccess = \"{}\"\nwebconf = \"{}\"\nav = [\"{}\"{}]\n",
                        ext[0],
                        ext[1],
                        ext[2],
                        if *v6 {
                            format!(", \"{}\"", addr(*za, next(), true))
                        } else {
                            String::new()
                        }
                    );
                    s += &format!(
                        "[[pool.server.interface]]\nname = \"internal\"\nzone = \"z{zb}\"\naddress = \"{}\"\n",
                        addr(*zb, next(), false)
                    );
                }
                "reverse-proxy" => {
                    s += &format!(
                        "[[pool.server.interface]]\nname = \"external\"\nzone = \"z{za}\"\naddress = \"{}\"\n[[pool.server.interface]]\nname = \"internal\"\nzone = \"z{zb}\"\naddress = \"{}\"\n",
                        addr(*za, next(), false),
                        addr(*zb, next(), *v6)
                    );
                }
                _ => {
                    s += &format!(
                        "[[pool.server.interface]]\nname = \"lan\"\nzone = \"z{za}\"\naddress = \"{}\"\n",
                        addr(*za, next(), *v6)
                    );
                }
            }
        }
    }
    s += "[[clients]]\nname = \"c\"\nzone = \"z2\"\nnetworks = [\"10.2.128.0/24\"]\n";
    let nat: String = natted
        .iter()
        .enumerate()
        .map(|(k, private)| {
            format!(
                "[[firewall.nat]]\npublic = \"192.0.2.{}\"\nprivate = \"{private}\"\n",
                k + 1
            )
        })
        .collect();
    s.replace("@NAT@", &nat)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn parsing_arbitrary_text_never_panics(text in "\\PC{0,400}") {
        exercise(&text);
    }

    #[test]
    fn mutated_reference_never_panics(cut in 0usize..REFERENCE.len(), len in 0usize..40, insert in "[ -~\n]{0,12}") {
        let mut start = cut;
        while !REFERENCE.is_char_boundary(start) { start -= 1; }
        let mut end = (start + len).min(REFERENCE.len());
        while !REFERENCE.is_char_boundary(end) { end -= 1; }
        let text = format!("{}{}{}", &REFERENCE[..start], insert, &REFERENCE[end..]);
        exercise(&text);
    }

    #[test]
    fn generated_topologies_plan_without_panicking(g in gen_strategy()) {
        exercise(&to_toml(&g));
    }
}

#[test]
fn the_generator_produces_valid_topologies_too() {
    // a fixed, sensible draw must validate, so the property above is not only exercising errors
    let g = Gen {
        zones: 3,
        firewalls: vec![vec![0, 1], vec![2, 1]],
        pools: vec![
            (0, 0, vec![(1, 1), (1, 1)], false),
            (1, 0, vec![(2, 0)], false),
            (2, 0, vec![(2, 0)], true),
            (3, 0, vec![(1, 1)], false),
            (4, 0, vec![(2, 0)], false),
        ],
        features: vec![true; 8],
        narrow: false,
        nat: false,
        chaos: false,
    };
    let text = to_toml(&g);
    let t =
        Topology::parse("g.toml", &text).unwrap_or_else(|e| panic!("{:#?}\n{text}", e.problems));
    assert!(!plan::compile(&t).rules.is_empty());
}

#[test]
fn a_good_share_of_generated_topologies_validate() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = gen_strategy();
    let draws = 300;
    let mut valid = 0;
    let mut with_rules = 0;
    for _ in 0..draws {
        let g = strategy.new_tree(&mut runner).unwrap().current();
        if let Ok(t) = Topology::parse("g.toml", &to_toml(&g)) {
            valid += 1;
            if !plan::compile(&t).rules.is_empty() {
                with_rules += 1;
            }
        }
    }
    eprintln!("{valid}/{draws} generated topologies validate, {with_rules} have rules");
    assert!(valid * 2 >= draws, "only {valid}/{draws} validate");
    assert!(
        with_rules * 6 >= draws,
        "only {with_rules}/{draws} produce rules"
    );
}

#[test]
fn generated_natted_edges_validate_and_plan_the_nat_pages() {
    // a single and a DNS-balanced Edge behind the first firewall's static NAT (the generator's raw
    // Edge choices 2 and 1 repair to `none` and `dns`)
    for (lb, expected) in [(2, "edge-single-nat"), (1, "edge-dns-nat")] {
        let g = Gen {
            zones: 3,
            firewalls: vec![vec![0, 1], vec![2, 1]],
            pools: vec![
                (0, lb, vec![(1, 1), (1, 1)], false),
                (2, 0, vec![(2, 0)], false),
                (6, 3, vec![(2, 0)], false),
                (8, 3, vec![(2, 0)], false),
            ],
            features: vec![true, false, true, true, false, false, true, true],
            narrow: false,
            nat: true,
            chaos: false,
        };
        let text = to_toml(&g);
        let t = Topology::parse("g.toml", &text)
            .unwrap_or_else(|e| panic!("{:#?}\n{text}", e.problems));
        assert!(t.scenarios().contains(&expected), "{:?}", t.scenarios());
        assert!(
            !lint::lint(&t).has_errors(),
            "{:#?}",
            lint::lint(&t).findings
        );
        exercise(&text);
    }
}
