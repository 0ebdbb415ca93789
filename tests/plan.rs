//! The planner on the example topologies: golden outputs, plus the facts a UC engineer would
//! check by hand.

mod common;

use portplan::catalog::{Feature, Transport};
use portplan::plan::{self, Family, Plan, Rule};
use portplan::render::{self, Scope, Target};
use portplan::topology::Topology;

fn load(name: &str) -> (Topology, Plan) {
    let path = common::example(name);
    let t = Topology::parse(&format!("examples/{name}"), &common::read(&path)).unwrap();
    let p = plan::compile(&t);
    (t, p)
}

fn find<'a>(p: &'a Plan, proto: Transport, port: u16, dst_role: &str) -> Vec<&'a Rule> {
    p.rules
        .iter()
        .filter(|r| {
            r.transport == proto && r.ports.contains(port) && r.destination.role == dst_role
        })
        .collect()
}

#[test]
fn golden_plans_of_every_example() {
    for name in common::EXAMPLES
        .into_iter()
        .chain(["sfb2019-hlb.toml", "sfb2019-hybrid.toml"])
    {
        let (t, p) = load(name);
        let stem = name.trim_end_matches(".toml");
        for target in [Target::Table, Target::Json] {
            let out = render::render(&p, &t, target, &Scope::All).unwrap();
            let ext = if target == Target::Json {
                "json"
            } else {
                "txt"
            };
            common::golden(&format!("plan/{stem}.{ext}"), &out);
        }
        common::golden(
            &format!("plan/{stem}.skipped.txt"),
            &render::skipped_table(&p).to_text(),
        );
    }
}

#[test]
fn reference_rule_counts_per_firewall() {
    let (_, p) = load("reference.toml");
    assert_eq!(p.rules_for("fw-external").count(), 18);
    assert_eq!(p.rules_for("fw-internal").count(), 23);
    assert!(p.rules.iter().all(|r| r.family == Family::V4));
    assert_eq!(p.unrouted_flows().count(), 0);
}

#[test]
fn the_same_topology_is_built_in() {
    let (_, from_file) = load("reference.toml");
    let builtin = plan::compile(&Topology::reference());
    assert_eq!(from_file.rules.len(), builtin.rules.len());
}

#[test]
fn any_on_an_external_row_is_the_internet_and_on_an_internal_row_the_internal_network() {
    let (_, p) = load("reference.toml");
    let sip_in = find(&p, Transport::Tcp, 443, "edge.access.vip");
    assert_eq!(sip_in.len(), 1);
    assert_eq!(sip_in[0].source.nets()[0].to_string(), "0.0.0.0/0");
    assert_eq!(sip_in[0].firewall, "fw-external");
    assert_eq!(
        (
            sip_in[0].ingress_interface.as_str(),
            sip_in[0].egress_interface.as_str()
        ),
        ("outside", "dmz")
    );
    let cms = find(&p, Transport::Tcp, 4443, "edge.internal");
    assert_eq!(cms.len(), 1);
    assert_eq!(cms[0].source.nets()[0].to_string(), "10.10.0.0/16");
    assert_eq!(cms[0].firewall, "fw-internal");
}

#[test]
fn the_two_4443s_stay_apart() {
    let (_, p) = load("reference.toml");
    let rp = p
        .rules
        .iter()
        .filter(|r| r.ports.contains(4443) && r.source.role == "reverse-proxy.internal")
        .count();
    let cms = p
        .rules
        .iter()
        .filter(|r| r.ports.contains(4443) && r.destination.role == "edge.internal")
        .count();
    assert_eq!(
        (rp, cms),
        (2, 1),
        "RP->Director VIP, RP->web pools, CMS->Edge"
    );
}

#[test]
fn ocs2007_rows_follow_the_feature() {
    let (_, reference) = load("reference.toml");
    assert!(
        !reference
            .rules
            .iter()
            .any(|r| r.transport == Transport::Udp && r.ports.start == 50000),
        "OCS 2007 is off in the reference"
    );
    assert!(
        reference
            .skipped
            .iter()
            .filter(|s| s.reason.contains("ocs2007-federation"))
            .count()
            == 3
    );
    // outbound RTP/TCP is plain federation
    assert!(reference.rules.iter().any(|r| r.transport == Transport::Tcp
        && r.ports.start == 50000
        && r.features == vec![Feature::Federation]));
    let (_, other) = load("dns-director-3edge.toml");
    // three RTP rows, both families
    assert_eq!(
        other
            .rules
            .iter()
            .filter(|r| r.ports.start == 50000 && r.features == vec![Feature::Ocs2007Federation])
            .count(),
        6
    );
}

#[test]
fn dns_load_balanced_director_gets_sip_on_its_servers() {
    let (_, p) = load("dns-director-3edge.toml");
    let sip = find(&p, Transport::Tcp, 5061, "director");
    assert!(!sip.is_empty());
    assert!(sip.iter().all(|r| r.source.role == "edge.internal"));
    assert!(find(&p, Transport::Tcp, 5061, "director.vip").is_empty());
    // web still goes to the HLB VIP
    assert_eq!(find(&p, Transport::Tcp, 4443, "director.vip").len(), 1);
}

#[test]
fn listed_partners_narrow_outbound_federation() {
    let (_, p) = load("dns-director-3edge.toml");
    let out: Vec<String> = find(&p, Transport::Tcp, 5061, "federated-partner")
        .iter()
        .flat_map(|r| r.destination.nets())
        .map(|n| n.to_string())
        .collect();
    assert_eq!(out, vec!["198.51.100.77/32", "2001:db8:77::/64"]);
}

#[test]
fn ipv6_rules_appear_only_where_both_ends_have_ipv6() {
    let (_, p) = load("dns-director-3edge.toml");
    // the reverse proxy's internal leg is IPv4 only: no IPv6 rule from it
    assert!(
        !p.rules
            .iter()
            .any(|r| r.family == Family::V6 && r.source.role == "reverse-proxy.internal")
    );
    assert!(
        p.rules
            .iter()
            .any(|r| r.family == Family::V6 && r.destination.role == "edge.av.public")
    );
}

#[test]
fn narrow_any_uses_the_documents_suggested_sources() {
    let text = common::read(&common::example("reference.toml"))
        .replace("narrow_any = false", "narrow_any = true");
    let t = Topology::parse("narrow.toml", &text).unwrap();
    let p = plan::compile(&t);
    let cms = find(&p, Transport::Tcp, 4443, "edge.internal");
    assert_eq!(cms[0].source.role, "front-end.cms");
    let mut nets: Vec<String> = cms[0].source.nets().iter().map(|n| n.to_string()).collect();
    nets.sort();
    assert_eq!(
        nets,
        vec![
            "10.10.2.10/32",
            "10.10.2.11/32",
            "10.10.2.12/32",
            "10.10.2.13/32"
        ]
    );
}

#[test]
fn features_off_remove_their_rules_and_say_why() {
    let text = common::read(&common::example("reference.toml"))
        .replace("xmpp = true", "xmpp = false")
        .replace("centralized-logging = true", "centralized-logging = false");
    let t = Topology::parse("off.toml", &text).unwrap();
    let p = plan::compile(&t);
    assert!(
        !p.rules
            .iter()
            .any(|r| r.ports.start == 5269 || r.ports.start == 50001)
    );
    assert_eq!(
        p.skipped
            .iter()
            .filter(|s| s.reason == "feature `centralized-logging` is off")
            .count(),
        6
    );
    assert_eq!(p.rules.len(), 41 - 3 - 6);
}

#[test]
fn every_rule_traces_back_to_a_catalog_row() {
    for name in common::EXAMPLES {
        let (_, p) = load(name);
        for r in &p.rules {
            assert!(!r.rows.is_empty());
            assert!(!r.reason.is_empty());
            assert!(!r.source.members.is_empty() && !r.destination.members.is_empty());
        }
    }
}

#[test]
fn each_edge_variant_plans_its_own_page() {
    for (name, edge, director) in [
        (
            "reference.toml",
            "edge-consolidated-hlb",
            Some("director-pool-hlb"),
        ),
        ("edge-single-public.toml", "edge-single-public", None),
        (
            "edge-single-nat.toml",
            "edge-single-nat",
            Some("director-single"),
        ),
        (
            "edge-dns-public.toml",
            "edge-dns-public",
            Some("director-pool-hlb"),
        ),
        (
            "edge-dns-nat.toml",
            "edge-dns-nat",
            Some("director-dns-hlb"),
        ),
    ] {
        let (t, p) = load(name);
        assert!(
            p.scenarios.iter().any(|s| s == edge),
            "{name}: {:?}",
            p.scenarios
        );
        let edge_scenarios = p
            .scenarios
            .iter()
            .filter(|s| s.starts_with("edge-"))
            .count();
        assert_eq!(edge_scenarios, 1, "{name}: one Edge page");
        if let Some(d) = director {
            assert!(p.scenarios.iter().any(|s| s == d), "{name}: {d}");
        }
        // every Edge rule uses the rows of its own page only
        for r in p
            .rules
            .iter()
            .filter(|r| r.source.role.contains("edge.") || r.destination.role.contains("edge."))
        {
            for row in &r.rows {
                assert!(
                    !row.scenario.starts_with("edge-") || row.scenario == edge,
                    "{name}: r{} uses {row}",
                    r.id
                );
            }
        }
        assert!(!t.pools.is_empty());
    }
}

#[test]
fn natted_edge_rules_match_the_private_addresses_the_firewall_forwards_to() {
    let (t, p) = load("edge-single-nat.toml");
    let av = find(&p, Transport::Udp, 3478, "edge.av.public");
    let inbound: Vec<_> = av
        .iter()
        .filter(|r| r.firewall == "fw-external" && r.ingress_interface == "outside")
        .collect();
    assert_eq!(inbound.len(), 1);
    assert_eq!(
        inbound[0].destination.nets()[0].to_string(),
        "172.16.10.12/32"
    );
    // no rule names a public NAT address: they exist only in the translation
    let fw = t.firewall("fw-external").unwrap();
    for n in &fw.nat {
        assert!(
            p.rules.iter().all(|r| !r
                .destination
                .members
                .iter()
                .chain(&r.source.members)
                .any(|m| m.net.addr() == n.public)),
            "{} appears in a rule",
            n.public
        );
    }
}

#[test]
fn only_the_dns_nat_page_sends_xmpp_out_of_the_external_interface() {
    let (_, with) = load("edge-dns-nat.toml");
    assert!(
        with.rules.iter().any(|r| r.ports.start == 5269
            && r.source.role.contains("edge.access.public")
            && r.rows
                .iter()
                .any(|id| id.to_string() == "edge-dns-nat/external-interface#2")),
        "the page's own outbound 5269 row"
    );
}

#[test]
fn internal_server_tables_open_the_core_firewall_between_segments() {
    let (_, p) = load("edge-dns-public.toml");
    let core: Vec<&Rule> = p.rules_for("fw-core").collect();
    let has = |ingress: &str, proto: Transport, port: u16, src: &str, dst: &str| {
        core.iter().any(|r| {
            r.ingress_interface == ingress
                && r.transport == proto
                && r.ports.contains(port)
                && r.source.role.split('+').any(|x| x == src)
                && r.destination.role.split('+').any(|x| x == dst)
        })
    };
    // the PSTN gateway reaches the Mediation servers, the Front End reaches nothing on it unless
    // Mediation is collocated (it is not in this example)
    assert!(has(
        "voi",
        Transport::Tcp,
        5067,
        "pstn-gateway",
        "mediation"
    ));
    assert!(has(
        "voi",
        Transport::Tcp,
        5068,
        "pstn-gateway",
        "mediation"
    ));
    assert!(!has(
        "srv",
        Transport::Tcp,
        5081,
        "front-end",
        "pstn-gateway"
    ));
    // users reach the Front End servers, Persistent Chat and the Director VIP
    assert!(has("usr", Transport::Tcp, 5061, "internal", "front-end"));
    assert!(has(
        "usr",
        Transport::Tcp,
        5041,
        "internal",
        "persistent-chat"
    ));
    // audio and video between segments land on the clients' own port range
    assert!(has(
        "srv",
        Transport::Udp,
        50000,
        "internal",
        "internal-clients"
    ));
    // the optional plain-TCP SIP stays closed
    assert!(!core.iter().any(|r| r.ports.start == 5060));
    assert!(
        p.skipped
            .iter()
            .any(|s| s.ports.start == 5060 && s.reason.contains("sip-tcp-5060"))
    );
}
