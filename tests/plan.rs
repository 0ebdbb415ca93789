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
    for name in common::all_examples() {
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
            &portplan::view::plan::skipped_table(&p).to_text(),
        );
    }
}

#[test]
fn reference_rule_counts_per_firewall() {
    let (_, p) = load("reference.toml");
    assert_eq!(p.rules_for("fw-external").count(), 18);
    // 23 before the reverse proxy's rules to the Director VIP were folded into its web pool rules
    assert_eq!(p.rules_for("fw-internal").count(), 21);
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
        (1, 1),
        "RP->web pools (holding the Director VIP), CMS->Edge"
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
    // web still goes to the HLB VIP (inside the reverse proxy's rule to every web pool), never to
    // the Director server itself
    let web = find(&p, Transport::Tcp, 4443, "web-pools");
    assert_eq!(web.len(), 1);
    let nets: Vec<String> = web[0]
        .destination
        .nets()
        .iter()
        .map(|n| n.to_string())
        .collect();
    assert!(nets.contains(&"10.20.1.10/32".to_string()), "{nets:?}");
    assert!(!nets.contains(&"10.20.1.11/32".to_string()), "{nets:?}");
    assert!(web[0].rows_text().contains("director-dns-hlb/director#2"));
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
    // the servers of the pool that holds the store open the connection, never its VIP
    assert_eq!(
        nets,
        vec!["10.10.2.11/32", "10.10.2.12/32", "10.10.2.13/32"]
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
    assert_eq!(p.rules.len(), 39 - 3 - 6);
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
    // a flow between the roles that a core rule on that interface carries (the rule may be a wider
    // one the flow's own rule was folded into)
    let has = |ingress: &str, proto: Transport, port: u16, src: &str, dst: &str| {
        p.flows.iter().any(|f| {
            f.transport == proto
                && f.ports.contains(port)
                && f.source.role.split('+').any(|x| x == src)
                && f.destination.role.split('+').any(|x| x == dst)
                && core.iter().any(|r| {
                    f.rules.contains(&r.id)
                        && r.ingress_interface == ingress
                        && r.ports.contains(port)
                        && r.transport == proto
                })
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

/// Issue 14: the reverse proxy table lists "Director, Director pool VIP, Front End Server, or Front
/// End pool VIP" and the plan opened all of them, while the Director table opens the VIP only for
/// the same traffic. A hardware balanced pool is reached at its VIP, in every table.
#[test]
fn reverse_proxy_reaches_a_hardware_balanced_pool_at_its_vip_only_like_the_director_table() {
    let (_, p) = load("reference.toml");
    let servers = [
        "10.10.1.11/32",
        "10.10.1.12/32",
        "10.10.2.11/32",
        "10.10.2.12/32",
        "10.10.2.13/32",
    ];
    for port in [4443, 8080] {
        let rp: Vec<&Rule> = p
            .rules
            .iter()
            .filter(|r| r.ports.contains(port) && r.source.role == "reverse-proxy.internal")
            .collect();
        assert_eq!(rp.len(), 1, "port {port}: one rule from the reverse proxy");
        let mut nets: Vec<String> = rp[0]
            .destination
            .nets()
            .iter()
            .map(|n| n.to_string())
            .collect();
        nets.sort();
        assert_eq!(nets, ["10.10.1.10/32", "10.10.2.10/32"], "port {port}");
        assert!(nets.iter().all(|n| !servers.contains(&n.as_str())));
    }
    // a single server has no VIP: the reverse proxy reaches the servers themselves
    let (_, single) = load("edge-single-nat.toml");
    let rp: Vec<&Rule> = single
        .rules
        .iter()
        .filter(|r| r.ports.contains(4443) && r.source.role == "reverse-proxy.internal")
        .collect();
    assert_eq!(rp.len(), 1);
    assert!(
        rp[0]
            .destination
            .members
            .iter()
            .all(|m| !m.host.contains("-vip"))
    );
    // servers stay where a row needs each of them: SIP from the Edge to DNS-balanced Directors,
    // Centralized Logging on every Director, inter-server HTTPS from Director to Front End
    let (_, dns) = load("dns-director-3edge.toml");
    assert!(!find(&dns, Transport::Tcp, 5061, "director").is_empty());
    assert!(
        p.rules
            .iter()
            .any(|r| r.ports.start == 50001 && r.destination.role == "director")
    );
    let narrow = common::read(&common::example("reference.toml"))
        .replace("narrow_any = false", "narrow_any = true");
    let t = Topology::parse("narrow.toml", &narrow).unwrap();
    let np = plan::compile(&t);
    let to_pools = np
        .rules
        .iter()
        .find(|r| r.ports.start == 5061 && r.source.role == "edge.internal.vip")
        .expect("SIP from the Edge's internal VIP");
    let hosts: Vec<&str> = to_pools
        .destination
        .members
        .iter()
        .map(|m| m.host.as_str())
        .collect();
    for h in [
        "dir01",
        "dir02",
        "dirpool/pool-vip",
        "fe01",
        "fe02",
        "fe03",
        "fepool/pool-vip",
    ] {
        assert!(hosts.contains(&h), "{h} missing from {hosts:?}");
    }
}

/// Issue 14: the reverse proxy's rule to the Director VIP on 4443 lay inside its rule to every web
/// pool on the same firewall hop. A rule inside another one of the same hop is folded into it,
/// which keeps every catalog row of both.
#[test]
fn a_rule_inside_another_on_the_same_hop_is_folded_into_it_with_its_catalog_rows() {
    let (_, p) = load("reference.toml");
    let web = find(&p, Transport::Tcp, 4443, "web-pools");
    assert_eq!(web.len(), 1);
    let rows = web[0].rows_text();
    assert!(
        rows.contains("reverse-proxy/internal-interface#2"),
        "{rows}"
    );
    assert!(rows.contains("director-pool-hlb/director#2"), "{rows}");
    assert!(find(&p, Transport::Tcp, 4443, "director.vip").is_empty());
    // the folded flow still names the rule that carries it
    let flow = p
        .flows
        .iter()
        .find(|f| f.ports.start == 4443 && f.destination.role == "director.vip")
        .unwrap();
    assert_eq!(flow.rules, vec![web[0].id]);
    // features: 8080 is only needed for mobility over HTTP in both tables, so it stays conditional
    let http = find(&p, Transport::Tcp, 8080, "web-pools");
    assert_eq!(http[0].features, vec![Feature::MobilityAutodiscoverHttp]);
    // no example keeps a rule that another rule of its hop already allows
    let inside = |inner: &Rule, outer: &Rule| {
        let nets_in = |a: &plan::Group, b: &plan::Group| {
            a.members
                .iter()
                .all(|m| b.members.iter().any(|n| n.net.contains(&m.net)))
        };
        inner.firewall == outer.firewall
            && inner.ingress_interface == outer.ingress_interface
            && inner.egress_interface == outer.egress_interface
            && inner.family == outer.family
            && inner.transport == outer.transport
            && outer.ports.start <= inner.ports.start
            && inner.ports.end <= outer.ports.end
            && nets_in(&inner.source, &outer.source)
            && nets_in(&inner.destination, &outer.destination)
    };
    for name in common::EXAMPLES {
        let (_, p) = load(name);
        for a in &p.rules {
            for b in p.rules.iter().filter(|b| b.id != a.id) {
                assert!(!inside(a, b), "{name}: r{} lies inside r{}", a.id, b.id);
            }
        }
        // ids stay 1..n in plan order, and every flow that crosses a firewall names its rules
        for (i, r) in p.rules.iter().enumerate() {
            assert_eq!(r.id, i + 1);
        }
        for f in p.flows.iter().filter(|f| !f.path.is_empty()) {
            assert!(!f.rules.is_empty(), "{name}: a crossing flow without rules");
            assert!(f.rules.iter().all(|id| *id >= 1 && *id <= p.rules.len()));
        }
    }
}

/// Renderers name address groups by role label and zone: one label must never stand for two
/// different address sets in a zone, or a rule would match the other's addresses too.
#[test]
fn one_role_label_stands_for_one_address_set_per_zone() {
    let mut plans = Vec::new();
    for name in common::EXAMPLES {
        let text = common::read(&common::example(name));
        plans.push(load(name).1);
        let narrowed = if text.contains("narrow_any") {
            text.replace("narrow_any = false", "narrow_any = true")
        } else {
            text.replacen(
                "[features]",
                "[options]\nnarrow_any = true\n\n[features]",
                1,
            )
        };
        let t = Topology::parse(name, &narrowed).unwrap();
        assert!(t.narrow_any, "{name}");
        plans.push(plan::compile(&t));
    }
    for p in &plans {
        let mut seen: std::collections::BTreeMap<(String, String, Family), Vec<String>> =
            Default::default();
        for r in &p.rules {
            for g in [&r.source, &r.destination] {
                let mut nets: Vec<String> = g.nets().iter().map(|n| n.to_string()).collect();
                nets.sort();
                let key = (g.role.to_string(), g.zone.clone(), r.family);
                let known = seen.entry(key.clone()).or_insert_with(|| nets.clone());
                assert_eq!(known, &nets, "{}: {key:?}", p.topology);
            }
        }
    }
}

#[test]
fn rows_skipped_for_a_version_name_the_version() {
    for (name, version) in [
        ("sfb2019-hlb.toml", "sfb2019"),
        ("sfb2019-hybrid.toml", "sfb2019"),
        ("sfbse-edge-nat.toml", "sfbse"),
    ] {
        let (_, p) = load(name);
        let xmpp: Vec<_> = p
            .skipped
            .iter()
            .filter(|s| s.service.starts_with("XMPP"))
            .collect();
        assert!(
            !xmpp.is_empty(),
            "{name}: the XMPP rows are listed as skipped"
        );
        for s in xmpp {
            assert!(
                s.reason.starts_with(&format!("not in {version}: ")),
                "{name} {}: {}",
                s.row,
                s.reason
            );
            assert!(s.reason.contains("XMPP"), "{}", s.reason);
        }
    }
    // 2015 still has the XMPP rows: with the feature on they are planned, with it off skipped as off
    let text = common::read(&common::example("reference.toml")).replacen(
        "name = \"reference\"\n",
        "name = \"reference\"\nversion = \"sfb2015\"\n",
        1,
    );
    let t = Topology::parse("sfb2015.toml", &text).unwrap();
    let p = plan::compile(&t);
    assert!(p.rules.iter().any(|r| r.ports.contains(5269)));
    assert!(p.skipped.iter().all(|s| !s.reason.starts_with("not in")));
    // Lync Server 2013 files never see a version reason
    for name in common::EXAMPLES {
        let (_, p) = load(name);
        assert!(
            p.skipped.iter().all(|s| !s.reason.starts_with("not in")),
            "{name}"
        );
    }
}
