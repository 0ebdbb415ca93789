//! Every kind of bad topology gets an error at the right line and column, with a hint.

use portplan::topology::{Finding, Severity, Topology, lint};

const BASE: &str = include_str!("../examples/reference.toml");

/// Parses `text` and returns the problems (panics if it parses).
fn problems(text: &str) -> Vec<Finding> {
    match Topology::parse("t.toml", text) {
        Ok(_) => panic!("expected the topology to be rejected"),
        Err(e) => e.problems,
    }
}

/// The 1-based line and column of the first occurrence of `needle` in `text`.
fn position(text: &str, needle: &str) -> (usize, usize) {
    let at = text.find(needle).expect(needle);
    let line = text[..at].matches('\n').count() + 1;
    let col = at - text[..at].rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
    (line, col)
}

fn assert_at(problems: &[Finding], code: &str, line: usize, col: usize) -> Finding {
    let p = problems
        .iter()
        .find(|p| p.code == code)
        .unwrap_or_else(|| panic!("no `{code}` problem in {problems:#?}"));
    assert_eq!((p.line, p.column), (Some(line), Some(col)), "{p:#?}");
    assert!(p.help.is_some(), "every problem carries a hint: {p:#?}");
    p.clone()
}

fn replace(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "{from}");
    BASE.replacen(from, to, 1)
}

#[test]
fn unknown_key_points_at_the_key() {
    let text = replace("cms = true", "cms = true\ncsm = true");
    let p = problems(&text);
    let (line, col) = position(&text, "csm = true");
    let f = assert_at(&p, "syntax", line, col);
    assert!(f.message.contains("unknown field `csm`"), "{}", f.message);
}

#[test]
fn wrong_type_points_at_the_value() {
    let text = replace("snat = false", "snat = \"no\"");
    let p = problems(&text);
    let (line, col) = position(&text, "\"no\"");
    let f = assert_at(&p, "syntax", line, col);
    assert!(f.message.contains("invalid type"), "{}", f.message);
}

#[test]
fn bad_address_points_at_the_value_and_names_it() {
    let text = replace("access = \"203.0.113.11\"", "access = \"203.0.113.311\"");
    let p = problems(&text);
    let (line, col) = position(&text, "\"203.0.113.311\"");
    let f = assert_at(&p, "syntax", line, col);
    assert!(f.message.contains("203.0.113.311"), "{}", f.message);
}

#[test]
fn duplicate_server_name_points_at_the_second_one() {
    let text = replace("name = \"dir02\"", "name = \"dir01\"");
    let p = problems(&text);
    // the second `name = "dir01"` is the duplicate; its value starts after `name = `
    let second = text.match_indices("name = \"dir01\"").nth(1).unwrap().0 + "name = ".len();
    let line = text[..second].matches('\n').count() + 1;
    let col = second - text[..second].rfind('\n').unwrap();
    let f = assert_at(&p, "duplicate-name", line, col);
    assert!(f.message.contains("dir01"), "{}", f.message);
}

#[test]
fn vip_outside_its_zone_network() {
    let text = replace("address = \"203.0.113.102\"", "address = \"198.18.0.5\"");
    let p = problems(&text);
    let (line, col) = position(&text, "\"198.18.0.5\"");
    let f = assert_at(&p, "outside-zone", line, col);
    assert!(
        f.message
            .contains("VIP 198.18.0.5 is outside zone `perimeter-external`")
    );
}

#[test]
fn pool_without_servers() {
    let text = replace(
        "[[pool]]\nname = \"owa\"\nrole = \"office-web-apps\"\npublished = [\"owa.contoso.example\"]\n  [[pool.server]]\n  name = \"owa01\"\n  interface = [{ name = \"lan\", zone = \"internal\", address = \"10.10.3.11\" }]\n",
        "[[pool]]\nname = \"owa\"\nrole = \"office-web-apps\"\npublished = [\"owa.contoso.example\"]\n",
    );
    let p = problems(&text);
    let (line, col) = position(&text, "\"owa\"");
    assert_at(&p, "empty-pool", line, col);
}

#[test]
fn interface_in_an_unknown_zone() {
    let text = replace(
        "name = \"lan\", zone = \"internal\", address = \"10.10.3.11\"",
        "name = \"lan\", zone = \"intranet\", address = \"10.10.3.11\"",
    );
    let p = problems(&text);
    let (line, col) = position(&text, "\"intranet\"");
    let f = assert_at(&p, "unknown-zone", line, col);
    assert!(f.help.unwrap().contains("internal"));
}

#[test]
fn interface_without_a_zone() {
    let text = replace(
        "name = \"lan\", zone = \"internal\", address = \"10.10.3.11\"",
        "name = \"lan\", address = \"10.10.3.11\"",
    );
    let p = problems(&text);
    let f = &p[0];
    assert!(f.message.contains("missing field `zone`"), "{}", f.message);
    assert_eq!(f.line, Some(position(&text, "{ name = \"lan\", address").0));
}

#[test]
fn feature_needing_a_missing_role() {
    // Office Web Apps on, but no Office Web Apps pool
    let text = replace(
        "[[pool]]\nname = \"owa\"\nrole = \"office-web-apps\"\npublished = [\"owa.contoso.example\"]\n  [[pool.server]]\n  name = \"owa01\"\n  interface = [{ name = \"lan\", zone = \"internal\", address = \"10.10.3.11\" }]\n",
        "",
    );
    let p = problems(&text);
    let (line, col) = position(&text, "office-web-apps = true");
    let f = assert_at(&p, "feature-needs-role", line, col);
    assert!(f.message.contains("Office Web Apps"), "{}", f.message);
}

#[test]
fn unknown_feature_name() {
    let text = replace("xmpp = true", "xmmp = true");
    let p = problems(&text);
    let (line, col) = position(&text, "xmmp");
    assert_at(&p, "unknown-feature", line, col);
}

#[test]
fn zone_network_with_host_bits() {
    let text = replace(
        "networks = [\"172.25.33.0/24\"]",
        "networks = [\"172.25.33.5/24\"]",
    );
    let p = problems(&text);
    let (line, col) = position(&text, "[\"172.25.33.5/24\"]");
    let f = assert_at(&p, "host-bits", line, col);
    assert!(f.help.unwrap().contains("172.25.33.0/24"));
}

#[test]
fn address_used_twice() {
    let text = replace("access = \"203.0.113.21\"", "access = \"203.0.113.11\"");
    let p = problems(&text);
    assert!(
        p.iter()
            .any(|f| f.code == "duplicate-address" && f.message.contains("203.0.113.11")),
        "{p:#?}"
    );
}

#[test]
fn edge_server_missing_its_internal_leg() {
    let text = replace(
        "    [[pool.server.interface]]\n    name = \"internal\"\n    zone = \"perimeter-internal\"\n    address = \"172.25.33.21\"\n    routes = [\"10.10.0.0/16\"]\n",
        "",
    );
    let p = problems(&text);
    let (line, col) = position(&text, "\"edge02\"");
    assert_at(&p, "missing-interface", line, col);
}

#[test]
fn edge_pool_without_the_av_vip() {
    let text = replace(
        "  [[pool.vip]]\n  service = \"av\"\n  zone = \"perimeter-external\"\n  address = \"203.0.113.102\"\n  snat = false\n",
        "",
    );
    let p = problems(&text);
    let (line, col) = position(&text, "\"edgepool\"");
    let f = assert_at(&p, "missing-vip", line, col);
    assert!(f.message.contains("`av` VIP"));
}

#[test]
fn unsupported_load_balancing_says_what_is_covered() {
    let text = replace(
        "role = \"edge\"\nload_balancing = \"hlb\"",
        "role = \"edge\"\nload_balancing = \"dns-hlb\"",
    );
    let p = problems(&text);
    let (line, col) = position(&text, "\"dns-hlb\"");
    assert_at(&p, "unsupported-scenario", line, col);
}

#[test]
fn toml_syntax_error_has_a_position() {
    let text = replace("name = \"reference\"", "name = \"reference");
    let p = problems(&text);
    assert_eq!(p[0].code, "syntax");
    assert_eq!(p[0].line, Some(position(&text, "name = \"reference").0));
}

#[test]
fn several_problems_are_all_reported() {
    // an unknown feature and an address outside its zone: both are reported in one run
    let text = replace("xmpp = true", "xmmp = true").replacen(
        "address = \"10.10.3.11\"",
        "address = \"10.99.3.11\"",
        1,
    );
    let p = problems(&text);
    assert!(p.iter().any(|f| f.code == "unknown-feature"), "{p:#?}");
    assert!(p.iter().any(|f| f.code == "outside-zone"), "{p:#?}");
}

// ---- load balancer lint ----

fn lint_of(text: &str) -> lint::LintReport {
    let t = Topology::parse("t.toml", text).expect("valid topology");
    lint::lint(&t)
}

#[test]
fn snat_on_the_av_vip_is_an_error_at_the_snat_line() {
    let text = replace(
        "address = \"203.0.113.102\"\n  snat = false",
        "address = \"203.0.113.102\"\n  snat = true",
    );
    let report = lint_of(&text);
    assert!(report.has_errors());
    let snat_line = text[..text.find("203.0.113.102").unwrap()]
        .matches('\n')
        .count()
        + 2;
    // points at the value that must change: `  snat = true` -> column 10
    let f = assert_at(&report.findings, "lb-snat-av", snat_line, 10);
    assert_eq!(f.severity, Severity::Error);
}

#[test]
fn reference_has_nine_public_addresses_and_no_errors() {
    let report = lint_of(BASE);
    assert!(!report.has_errors(), "{:#?}", report.findings);
    let count = &report.public_addresses[0];
    assert_eq!(
        (
            count.vips,
            count.server_addresses,
            count.total(),
            count.needed
        ),
        (3, 6, 9, 9)
    );
}

#[test]
fn a_missing_service_address_breaks_n_plus_one() {
    // a second webconf address on edge02 makes 10 public addresses where 9 are needed
    let text = replace(
        "webconf = \"203.0.113.22\"",
        "webconf = [\"203.0.113.22\", \"203.0.113.24\"]",
    );
    let report = lint_of(&text);
    let f = report
        .findings
        .iter()
        .find(|f| f.code == "lb-public-addresses")
        .unwrap();
    assert_eq!(f.severity, Severity::Error, "{f:#?}");
    assert!(
        f.message.contains("10 public IPv4 addresses"),
        "{}",
        f.message
    );
}

#[test]
fn gateway_other_than_the_access_vip_is_a_warning() {
    let text = replace("gateway = \"203.0.113.100\"", "gateway = \"203.0.113.1\"");
    let report = lint_of(&text);
    let f = report
        .findings
        .iter()
        .find(|f| f.code == "lb-gateway")
        .unwrap();
    assert_eq!(f.severity, Severity::Warning);
}

#[test]
fn missing_persistent_route_is_a_warning() {
    let text = replace("routes = [\"10.10.0.0/16\"]", "routes = [\"10.10.1.0/24\"]");
    let report = lint_of(&text);
    let f = report
        .findings
        .iter()
        .find(|f| f.code == "edge-routes")
        .unwrap();
    assert!(f.message.contains("10.10.2.11"), "{}", f.message);
}

#[test]
fn vip_in_another_zone_than_its_servers() {
    // move the internal VIP to the external perimeter (address valid there)
    let text = replace(
        "service = \"internal\"\n  zone = \"perimeter-internal\"\n  address = \"172.25.33.100\"",
        "service = \"internal\"\n  zone = \"perimeter-external\"\n  address = \"203.0.113.200\"",
    );
    let report = lint_of(&text);
    assert!(
        report.findings.iter().any(|f| f.code == "lb-vip-zone"),
        "{:#?}",
        report.findings
    );
}

// ---- the Edge variants, static NAT and scenario options ----

const NAT: &str = include_str!("../examples/edge-single-nat.toml");

fn nat_replace(from: &str, to: &str) -> String {
    assert!(NAT.contains(from), "{from}");
    NAT.replacen(from, to, 1)
}

#[test]
fn nat_of_an_address_no_server_has_points_at_the_entry() {
    let text = nat_replace("private = \"172.16.10.30\"", "private = \"172.16.10.99\"");
    let p = problems(&text);
    let at = text.find("private = \"172.16.10.99\"").unwrap();
    let entry = text[..at].rfind("[[firewall.nat]]").unwrap();
    let (line, col) = position(&text[..], &text[entry..entry + 40]);
    let f = assert_at(&p, "nat-private", line, col);
    assert!(f.message.contains("172.16.10.99"), "{}", f.message);
}

#[test]
fn nat_on_an_interface_the_firewall_lacks() {
    let text = nat_replace(
        "public = \"203.0.113.30\"",
        "public = \"203.0.113.30\"\n  interface = \"wan\"",
    );
    let p = problems(&text);
    let (line, col) = position(&text, "\"wan\"");
    let f = assert_at(&p, "nat-interface", line, col);
    assert!(f.help.unwrap().contains("outside"));
}

#[test]
fn nat_reusing_a_public_address_is_not_one_to_one() {
    let text = nat_replace("public = \"203.0.113.30\"", "public = \"203.0.113.10\"");
    let p = problems(&text);
    assert!(p.iter().any(|f| f.code == "duplicate-nat"), "{p:#?}");
}

#[test]
fn a_natted_edge_must_translate_every_service_address() {
    // drop the A/V Edge's NAT entry: the A/V Edge would hand clients an address they cannot reach
    let text = nat_replace(
        "  [[firewall.nat]]\n  public = \"203.0.113.12\"\n  private = \"172.16.10.12\"\n",
        "",
    );
    let report = lint_of(&text);
    let f = report
        .findings
        .iter()
        .find(|f| f.code == "edge-nat-missing")
        .expect("edge-nat-missing");
    assert_eq!(f.severity, Severity::Error);
    assert!(
        f.message.contains("av") && f.message.contains("172.16.10.12"),
        "{}",
        f.message
    );
    let (line, _) = position(&text, "name = \"external\"\n    zone = \"dmz-ext\"");
    assert_eq!(
        f.line,
        Some(line - 1),
        "points at the external interface table"
    );
}

#[test]
fn a_private_edge_without_any_nat_is_unreachable_from_outside() {
    let mut text = NAT.to_string();
    for (public, private) in [("10", "10"), ("11", "11"), ("12", "12")] {
        text = text.replacen(
            &format!("  [[firewall.nat]]\n  public = \"203.0.113.{public}\"\n  private = \"172.16.10.{private}\"\n"),
            "",
            1,
        );
    }
    let report = lint_of(&text);
    let warnings: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.code == "edge-private-address")
        .collect();
    assert_eq!(warnings.len(), 3, "{:#?}", report.findings);
    // and it now plans the public-address page
    let t = Topology::parse("t.toml", &text).unwrap();
    assert!(t.scenarios().contains(&"edge-single-public"));
}

#[test]
fn nat_in_front_of_a_hardware_balanced_edge_is_refused() {
    let text = replace(
        "  address = \"203.0.113.1/24\"\n",
        "  address = \"203.0.113.1/24\"\n\n  [[firewall.nat]]\n  public = \"198.51.100.50\"\n  private = \"203.0.113.13\"\n  interface = \"outside\"\n",
    );
    let report = lint_of(&text);
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.code == "lb-edge-nat" && f.severity == Severity::Error),
        "{:#?}",
        report.findings
    );
}

#[test]
fn a_single_server_pool_cannot_hold_two_servers() {
    let text = replace(
        "role = \"director\"\nload_balancing = \"hlb\"",
        "role = \"director\"\nload_balancing = \"none\"",
    );
    let p = problems(&text);
    let (line, col) = position(&text, "\"none\"");
    assert_at(&p, "single-server-pool", line, col);
}

#[test]
fn a_dns_balanced_edge_has_no_vips() {
    let text = replace(
        "role = \"edge\"\nload_balancing = \"hlb\"",
        "role = \"edge\"\nload_balancing = \"dns\"",
    );
    let p = problems(&text);
    let at = text.find("[[pool.vip]]\n  service = \"access\"").unwrap();
    let (line, col) = position(&text, &text[at..at + 30]);
    let f = assert_at(&p, "unused-vip", line, col);
    assert!(f.message.contains("dns"), "{}", f.message);
}

#[test]
fn unknown_extra_scenario_is_named() {
    let text = replace(
        "narrow_any = false",
        "narrow_any = false\nscenarios = [\"autodiscover\", \"edge-magic\"]",
    );
    let p = problems(&text);
    let (line, col) = position(&text, "\"edge-magic\"");
    let f = assert_at(&p, "unknown-scenario", line, col);
    assert!(f.message.contains("edge-magic"));
    // a known one is planned on top of the pools' own scenarios
    let ok = replace(
        "narrow_any = false",
        "narrow_any = false\nscenarios = [\"autodiscover\"]",
    );
    let t = Topology::parse("t.toml", &ok).unwrap();
    assert!(t.scenarios().contains(&"autodiscover"));
    assert!(t.scenarios().contains(&"reverse-proxy"));
}
