//! `any` is the far side of the leg a table is about: the internet for the Edge's public services
//! and the reverse proxy's listener, the internal networks for the Edge's internal interface and
//! the reverse proxy's internal side, never the internet for a server inside. A cold trial's
//! single firewall joining every zone opened the Edge's internal interface to the whole internet.

use portplan::plan::{self, Plan};
use portplan::topology::{Topology, ZoneKind};

/// The reference design with both firewalls folded into one with four legs; `three` puts a third
/// firewall between the internal firewall and the internal network instead.
fn one_firewall() -> Topology {
    let text = Topology::reference_source();
    let start = text.find("[[firewall]]").unwrap();
    let end = text.find("[[pool]]").unwrap();
    let firewall = r#"[[firewall]]
name = "fw-core"
  [[firewall.interface]]
  name = "outside"
  zone = "internet"
  [[firewall.interface]]
  name = "dmz-ext"
  zone = "perimeter-external"
  address = "203.0.113.1/24"
  [[firewall.interface]]
  name = "dmz-int"
  zone = "perimeter-internal"
  address = "172.25.33.1/24"
  [[firewall.interface]]
  name = "inside"
  zone = "internal"
  address = "10.10.0.1/16"

"#;
    let text = format!("{}{firewall}{}", &text[..start], &text[end..]);
    Topology::parse("one-firewall.toml", &text).unwrap()
}

fn zone_kind(t: &Topology, zone: &str) -> ZoneKind {
    t.zone(zone).unwrap().kind
}

fn offending(t: &Topology, p: &Plan) -> Vec<String> {
    let mut bad = Vec::new();
    for r in &p.rules {
        let (s, d) = (&r.source, &r.destination);
        let internal_leg =
            |role: &str| role.starts_with("edge.internal") || role == "reverse-proxy.internal";
        let public_leg = |role: &str| {
            (role.starts_with("edge.") && !role.starts_with("edge.internal"))
                || role == "reverse-proxy.external"
        };
        let kind_s = zone_kind(t, &s.zone);
        let kind_d = zone_kind(t, &d.zone);
        if (internal_leg(&d.role) && kind_s == ZoneKind::Internet)
            || (internal_leg(&s.role) && kind_d == ZoneKind::Internet)
            || (public_leg(&s.role) && kind_d == ZoneKind::Internal)
            || (public_leg(&d.role) && kind_s == ZoneKind::Internal && s.role == "any")
            || (kind_s == ZoneKind::Internet && kind_d == ZoneKind::Internal)
        {
            bad.push(format!(
                "r{} {} {} -> {} {} {}/{}",
                r.id, s.role, s.zone, d.role, d.zone, r.transport, r.ports
            ));
        }
    }
    bad
}

#[test]
fn one_firewall_keeps_the_edge_internal_interface_off_the_internet() {
    let t = one_firewall();
    let p = plan::compile(&t);
    assert!(p.rules.len() > 20, "{} rules", p.rules.len());
    let bad = offending(&t, &p);
    assert!(bad.is_empty(), "{bad:#?}");
    // the internal side still reaches the Edge's internal interface from the internal networks
    assert!(p.rules.iter().any(|r| r.source.role == "any"
        && r.source.zone == "internal"
        && r.destination.role == "edge.internal"
        && r.ports.to_string() == "8057"));
    // and the internet still reaches the Access Edge
    assert!(p.rules.iter().any(|r| r.source.zone == "internet"
        && r.destination.role.starts_with("edge.access")
        && r.ports.to_string() == "5061"));
}

#[test]
fn the_two_firewall_reference_plans_the_same_any_as_before() {
    // every `any` of the reference plan already stood for the right side: nothing is lost
    let t = Topology::reference();
    let p = plan::compile(&t);
    assert!(offending(&t, &p).is_empty());
    let any_rules = p
        .rules
        .iter()
        .filter(|r| r.source.role == "any" || r.destination.role == "any")
        .count();
    assert!(any_rules >= 20, "{any_rules}");
}

#[test]
fn an_address_a_more_specific_zone_holds_is_refused_where_it_is_declared() {
    // a cold trial added the Directors' subnet to the perimeter zone while the Directors stayed in
    // `internal`: check accepted it and `any` of the perimeter then reached them from the DMZ
    let text = Topology::reference_source().replace(
        "networks = [\"172.25.33.0/24\"]",
        "networks = [\"172.25.33.0/24\", \"10.10.1.0/24\"]",
    );
    let err = Topology::parse("m13.toml", &text).unwrap_err();
    let codes: Vec<&str> = err.problems.iter().map(|f| f.code.as_str()).collect();
    assert!(codes.contains(&"in-other-zone"), "{codes:?}");
    let f = err
        .problems
        .iter()
        .find(|f| f.code == "in-other-zone")
        .unwrap();
    assert!(
        f.message.contains("dir01") || f.message.contains("10.10.1."),
        "{}",
        f.message
    );
}
