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
    let f = assert_at(&p, "unsupported-load-balancing", line, col);
    assert!(f.help.unwrap().contains("`hlb`"));
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

// ---- issue 14: what would silently break the output ----

fn example(name: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(name),
    )
    .unwrap()
}

fn ok(text: &str) -> Topology {
    Topology::parse("t.toml", text).unwrap_or_else(|e| panic!("{:#?}", e.problems))
}

#[test]
fn the_same_network_in_two_zones_is_refused() {
    let text = replace(
        "networks = [\"172.25.33.0/24\"]",
        "networks = [\"172.25.33.0/24\", \"10.10.0.0/16\"]",
    );
    let p = problems(&text);
    // the later zone's networks are pointed at
    let (line, col) = position(&text, "[\"10.10.0.0/16\"]\n\n[[firewall]]");
    let f = assert_at(&p, "duplicate-network", line, col);
    assert!(
        f.message.contains("10.10.0.0/16") && f.message.contains("perimeter-internal"),
        "{}",
        f.message
    );
    // a zone made only of other zones' networks has no owner of its own
    let text = replace(
        "networks = [\"172.25.33.0/24\"]",
        "networks = [\"203.0.113.0/24\"]",
    );
    let p = problems(&text);
    let (line, col) = position(
        &text,
        "[\"203.0.113.0/24\"]\n\n[[zone]]\nname = \"internal\"",
    );
    assert_at(&p, "duplicate-zone", line, col);
}

#[test]
fn nested_zone_networks_are_accepted() {
    let text = replace(
        "[[zone]]\nname = \"internal\"",
        "[[zone]]\nname = \"servers\"\nkind = \"internal\"\nnetworks = [\"10.10.50.0/24\"]\n\n[[zone]]\nname = \"internal\"",
    );
    ok(&text);
    // nesting is fine; an address declared in the outer zone that the inner one holds is not
    // (tests/any_sides.rs: in-other-zone)
}

#[test]
fn gateway_outside_its_zone_is_refused() {
    let text = replace("gateway = \"203.0.113.100\"", "gateway = \"10.10.0.1\"");
    let p = problems(&text);
    let (line, col) = position(&text, "\"10.10.0.1\"");
    let f = assert_at(&p, "gateway-outside-zone", line, col);
    assert!(f.message.contains("edge01"), "{}", f.message);
}

#[test]
fn gateway_nothing_in_its_zone_answers_on_is_refused() {
    let text = replace("gateway = \"203.0.113.100\"", "gateway = \"203.0.113.99\"");
    let p = problems(&text);
    let (line, col) = position(&text, "\"203.0.113.99\"");
    let f = assert_at(&p, "gateway-unknown", line, col);
    let help = f.help.unwrap();
    assert!(
        help.contains("firewall 203.0.113.1") && help.contains("VIP 203.0.113.100"),
        "{help}"
    );
    // the firewall's own address is a valid gateway; the HLB lint still wants the Access VIP
    let text = replace("gateway = \"203.0.113.100\"", "gateway = \"203.0.113.1\"");
    let t = ok(&text);
    let report = lint::lint(&t);
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.code == "lb-gateway" && f.severity == Severity::Warning)
    );
}

#[test]
fn hardware_balanced_front_end_pool_without_a_vip_is_refused() {
    let text = replace(
        "cms = true\npublished = [\"webext.contoso.example\", \"meet.contoso.example\", \"dialin.contoso.example\", \"lyncdiscover.contoso.example\"]\n  [[pool.vip]]\n  service = \"pool\"\n  zone = \"internal\"\n  address = \"10.10.2.10\"\n  snat = true\n",
        "cms = true\npublished = [\"webext.contoso.example\", \"meet.contoso.example\", \"dialin.contoso.example\", \"lyncdiscover.contoso.example\"]\n",
    );
    let p = problems(&text);
    let (line, col) = position(&text, "\"fepool\"");
    let f = assert_at(&p, "missing-vip", line, col);
    assert!(f.message.contains("`pool` VIP"), "{}", f.message);
}

#[test]
fn hardware_balanced_office_web_apps_without_a_vip_is_refused() {
    let text = replace(
        "role = \"office-web-apps\"\n",
        "role = \"office-web-apps\"\nload_balancing = \"hlb\"\n",
    );
    let p = problems(&text);
    let (line, col) = position(&text, "\"owa\"");
    assert_at(&p, "missing-vip", line, col);
}

#[test]
fn dns_only_front_end_pool_is_refused_naming_dns_hlb() {
    let text = replace(
        "role = \"front-end\"\nload_balancing = \"hlb\"",
        "role = \"front-end\"\nload_balancing = \"dns\"",
    );
    let p = problems(&text);
    let (line, col) = position(&text, "\"dns\"");
    let f = assert_at(&p, "unsupported-load-balancing", line, col);
    assert!(f.help.unwrap().contains("dns-hlb"));
    // a Front End pool of several servers with no load_balancing defaults to dns: refused too
    let text = replace(
        "role = \"front-end\"\nload_balancing = \"hlb\"\n",
        "role = \"front-end\"\n",
    );
    let p = problems(&text);
    let (line, col) = position(&text, "\"fepool\"");
    let f = assert_at(&p, "unsupported-load-balancing", line, col);
    assert!(f.message.contains("defaults to `dns`"), "{}", f.message);
}

#[test]
fn load_balancing_a_role_does_not_support_is_refused() {
    for (role, lb, hint) in [
        ("reverse-proxy", "hlb", "no VIP"),
        ("pstn-gateway", "hlb", "own address"),
        ("office-web-apps", "dns", "hlb"),
        ("survivable-branch", "dns", "`none`"),
        ("edge", "dns-hlb", "mixed"),
    ] {
        let text = format!(
            "[[zone]]\nname = \"lan\"\nkind = \"internal\"\nnetworks = \"10.0.0.0/8\"\n\n[[pool]]\nname = \"p\"\nrole = \"{role}\"\nload_balancing = \"{lb}\"\n  [[pool.server]]\n  name = \"s1\"\n  interface = [{{ name = \"lan\", zone = \"lan\", address = \"10.0.0.1\" }}]\n"
        );
        let p = problems(&text);
        let (line, col) = position(&text, &format!("\"{lb}\""));
        let f = assert_at(&p, "unsupported-load-balancing", line, col);
        assert!(f.help.as_ref().unwrap().contains(hint), "{role}: {f:#?}");
    }
}

#[test]
fn every_role_rule_comes_from_the_one_table() {
    use portplan::catalog::ServerRole;
    use portplan::topology::roles;
    for role in ServerRole::ALL {
        assert!(roles::rules(*role).is_some(), "{role}");
    }
}

#[test]
fn vip_of_a_single_front_end_is_refused_as_unused() {
    let text = replace(
        "role = \"front-end\"\nload_balancing = \"hlb\"",
        "role = \"front-end\"\nload_balancing = \"none\"",
    );
    let p = problems(&text);
    let at = text
        .find(
            "[[pool.vip]]\n  service = \"pool\"\n  zone = \"internal\"\n  address = \"10.10.2.10\"",
        )
        .unwrap();
    let line = text[..at].matches('\n').count() + 1;
    let f = assert_at(&p, "unused-vip", line, 3);
    assert!(f.help.unwrap().contains("dns-hlb"));
}

const XMPP_PARTNER: &str =
    "\n[[partner]]\nname = \"jabber-example\"\nkind = \"xmpp\"\nnetworks = [\"192.0.2.64/26\"]\n";

#[test]
fn xmpp_partner_networks_narrow_the_xmpp_rows() {
    use portplan::catalog::Transport;
    for (name, kept) in [("reference.toml", 2), ("edge-single-nat.toml", 2)] {
        let t = ok(&(example(name) + XMPP_PARTNER));
        let p = portplan::plan::compile(&t);
        let xmpp: Vec<_> = p
            .rules
            .iter()
            .filter(|r| r.transport == Transport::Tcp && r.ports.contains(5269))
            .collect();
        assert!(xmpp.len() >= kept, "{name}: {xmpp:#?}");
        for r in &xmpp {
            let far = if r.source.role.contains("edge") {
                &r.destination
            } else {
                &r.source
            };
            assert_eq!(
                far.nets().iter().map(|n| n.to_string()).collect::<Vec<_>>(),
                ["192.0.2.64/26"],
                "{name}: rule {} still open to {}",
                r.id,
                far.role
            );
        }
        // the internal XMPP gateway row (23456) is not a partner row and keeps its `any`
        assert!(p.rules.iter().filter(|r| r.ports.contains(23456)).all(|r| {
            !r.source
                .nets()
                .iter()
                .any(|n| n.to_string() == "192.0.2.64/26")
        }));
    }
}

#[test]
fn xmpp_partner_while_xmpp_is_off_is_refused() {
    let text = replace("xmpp = true", "xmpp = false") + XMPP_PARTNER;
    let p = problems(&text);
    let (line, col) = position(&text, "\"xmpp\"\nnetworks");
    let f = assert_at(&p, "unused-partner", line, col);
    assert!(f.message.contains("`xmpp` is off"), "{}", f.message);
}

#[test]
fn sip_partner_that_no_planned_row_uses_is_refused() {
    // the single Edge tables open outbound federation to any address, so the list would do nothing
    let text = example("edge-single-public.toml")
        + "\n[[partner]]\nname = \"fabrikam\"\nkind = \"sip\"\nnetworks = [\"198.51.100.77/32\"]\n";
    let p = problems(&text);
    let (line, col) = position(&text, "\"sip\"");
    let f = assert_at(&p, "unused-partner", line, col);
    assert!(f.message.contains("no planned row"), "{}", f.message);
}

#[test]
fn public_im_partner_networks_narrow_the_public_im_rows() {
    let t = ok(&(example("edge-single-nat.toml")
        + "\n[[partner]]\nname = \"im-provider\"\nkind = \"public-im\"\nnetworks = [\"198.18.0.0/15\"]\n"));
    let p = portplan::plan::compile(&t);
    let im: Vec<_> = p
        .rules
        .iter()
        .filter(|r| r.rows.iter().any(|id| id.table == "public-im") && r.ports.contains(5061))
        .collect();
    // the provider's rows either stand as rules of their own narrowed to its networks, or are
    // folded into a wider rule on the same hop (federation's `any`), which then carries them
    assert!(!im.is_empty(), "{im:#?}");
    let provider: ipnet::IpNet = "198.18.0.0/15".parse().unwrap();
    for r in &im {
        let far = if r.source.members.iter().any(|m| m.net.contains(&provider)) {
            &r.source
        } else {
            &r.destination
        };
        assert!(far.nets().iter().any(|n| n.contains(&provider)), "{r:#?}");
        if far.role == "public-im-partner" {
            assert_eq!(far.nets()[0], provider);
        }
    }
    // with federation off nothing wider exists: the rows are narrowed to the provider
    let t = ok(&(example("edge-single-nat.toml")
        .replace("federation = true", "federation = false")
        + "\n[[partner]]\nname = \"im-provider\"\nkind = \"public-im\"\nnetworks = [\"198.18.0.0/15\"]\n"));
    let p = portplan::plan::compile(&t);
    let narrowed = p
        .rules
        .iter()
        .filter(|r| r.rows.iter().any(|id| id.table == "public-im") && r.ports.contains(5061))
        .filter(|r| {
            r.source.role == "public-im-partner" || r.destination.role == "public-im-partner"
        })
        .count();
    assert_eq!(narrowed, 2);
}

#[test]
fn partner_network_outside_the_internet_zone_is_refused() {
    let text = example("dns-director-3edge.toml").replace(
        "networks = [\"198.51.100.77/32\", \"2001:db8:77::/64\"]",
        "networks = [\"10.20.5.0/24\"]",
    );
    let p = problems(&text);
    let (line, col) = position(&text, "[\"10.20.5.0/24\"]");
    let f = assert_at(&p, "partner-zone", line, col);
    assert!(f.message.contains("corp"), "{}", f.message);
}

#[test]
fn partner_without_networks_is_refused() {
    let text = example("dns-director-3edge.toml").replace(
        "networks = [\"198.51.100.77/32\", \"2001:db8:77::/64\"]",
        "networks = []",
    );
    let p = problems(&text);
    let (line, col) = position(&text, "[]");
    assert_at(&p, "empty-partner", line, col);
}

#[test]
fn routes_nothing_reads_are_refused() {
    let text = replace(
        "interface = [{ name = \"lan\", zone = \"internal\", address = \"10.10.2.11\" }]",
        "interface = [{ name = \"lan\", zone = \"internal\", address = \"10.10.2.11\", routes = \"10.0.0.0/8\" }]",
    );
    let p = problems(&text);
    let (line, col) = position(&text, "\"10.0.0.0/8\"");
    let f = assert_at(&p, "unused-routes", line, col);
    assert!(f.message.contains("fe01"), "{}", f.message);
}

#[test]
fn published_names_nothing_publishes_are_refused() {
    let text = replace(
        "role = \"edge\"\nload_balancing = \"hlb\"",
        "role = \"edge\"\nload_balancing = \"hlb\"\npublished = \"edge.contoso.example\"",
    );
    let p = problems(&text);
    let (line, col) = position(&text, "\"edge.contoso.example\"");
    assert_at(&p, "unused-published", line, col);
    // Office Web Apps names are only published with the feature on
    let text = replace("office-web-apps = true", "office-web-apps = false");
    let p = problems(&text);
    let (line, col) = position(&text, "[\"owa.contoso.example\"]");
    let f = assert_at(&p, "unused-published", line, col);
    assert!(f.help.unwrap().contains("office-web-apps"));
}

#[test]
fn published_name_of_two_pools_is_refused() {
    let text = replace(
        "published = [\"owa.contoso.example\"]",
        "published = [\"WebExt.contoso.example\"]",
    );
    let p = problems(&text);
    let (line, col) = position(&text, "[\"WebExt.contoso.example\"]");
    let f = assert_at(&p, "duplicate-published", line, col);
    assert!(f.message.contains("fepool"), "{}", f.message);
}

#[test]
fn second_central_management_store_is_refused() {
    let text = example("edge-dns-public.toml");
    assert!(text.matches("cms = true").count() == 1);
    // two Front End pools, both claiming the store
    let text = replace(
        "[[clients]]",
        "[[pool]]\nname = \"fepool2\"\nrole = \"front-end\"\ncms = true\n  [[pool.server]]\n  name = \"fe09\"\n  interface = [{ name = \"lan\", zone = \"internal\", address = \"10.10.2.19\" }]\n\n[[clients]]",
    );
    let p = problems(&text);
    let (line, col) = position(&text, "true\n  [[pool.server]]\n  name = \"fe09\"");
    assert_at(&p, "duplicate-cms", line, col);
}

#[test]
fn description_with_a_control_character_is_refused() {
    let text = replace("description = \"Seed", "description = \"\\u0007Seed");
    let p = problems(&text);
    let (line, col) = position(&text, "\"\\u0007Seed");
    let f = assert_at(&p, "bad-description", line, col);
    assert!(f.message.contains("U+0007"), "{}", f.message);
}

#[test]
fn edge_addresses_on_the_wrong_leg_are_refused() {
    // an ordinary `address` on the external leg is in no rule; so is a service address inside
    let text = replace(
        "    access = \"203.0.113.11\"",
        "    address = \"203.0.113.50\"\n    access = \"203.0.113.11\"",
    );
    let p = problems(&text);
    let (line, col) = position(&text, "\"203.0.113.50\"");
    assert_at(&p, "unused-address", line, col);
    let text = replace(
        "    address = \"172.25.33.11\"",
        "    address = \"172.25.33.11\"\n    av = \"172.25.33.12\"",
    );
    let p = problems(&text);
    let (line, col) = position(&text, "\"172.25.33.12\"");
    assert_at(&p, "unused-address", line, col);
}

#[test]
fn third_interface_of_an_edge_or_reverse_proxy_is_refused() {
    let text = replace(
        "    address = \"172.25.33.30\"\n",
        "    address = \"172.25.33.30\"\n    [[pool.server.interface]]\n    name = \"mgmt\"\n    zone = \"internal\"\n    address = \"10.10.9.30\"\n",
    );
    let p = problems(&text);
    let (line, col) = position(&text, "\"mgmt\"");
    let f = assert_at(&p, "unused-interface", line, col);
    assert!(f.message.contains("rp01"), "{}", f.message);
}

#[test]
fn link_local_gateway_is_refused_with_its_own_hint() {
    let text = example("dns-director-3edge.toml").replacen(
        "gateway = \"192.0.2.10\"",
        "gateway = [\"192.0.2.10\", \"fe80::1\"]",
        1,
    );
    let p = problems(&text);
    let (line, col) = position(&text, "[\"192.0.2.10\", \"fe80::1\"]");
    let f = assert_at(&p, "gateway-outside-zone", line, col);
    assert!(f.help.unwrap().contains("link-local"));
}

#[test]
fn firewall_names_that_differ_only_in_case_are_refused() {
    // the names become render file names: FW-EXTERNAL.nft and fw-external.nft are one file on
    // Windows and macOS
    let text = replace("name = \"fw-internal\"", "name = \"FW-EXTERNAL\"");
    let p = problems(&text);
    let (line, col) = position(&text, "\"FW-EXTERNAL\"");
    let f = assert_at(&p, "duplicate-name", line, col);
    assert!(f.message.contains("only in case"), "{}", f.message);
    assert!(f.message.contains("fw-external"), "{}", f.message);
}

#[test]
fn server_names_that_differ_only_in_case_are_refused() {
    let text = replace("name = \"edge02\"", "name = \"EDGE01\"");
    let p = problems(&text);
    let (line, col) = position(&text, "\"EDGE01\"");
    let f = assert_at(&p, "duplicate-name", line, col);
    assert!(f.message.contains("only in case"), "{}", f.message);
}
