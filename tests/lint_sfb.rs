//! The Skype for Business Edge rules of `portplan check` (src/topology/lint_sfb.rs): each rule on a
//! topology that breaks it and on one that keeps it, and Lync Server 2013 files left alone.

mod common;

use portplan::topology::lint::lint;
use portplan::topology::lint_sfb::addresses_needed;
use portplan::topology::{LoadBalancing, Severity, Topology};

const SFB2019: &str = include_str!("../examples/sfb2019-hlb.toml");
const SFBSE: &str = include_str!("../examples/sfbse-edge-nat.toml");
const REFERENCE: &str = include_str!("../examples/reference.toml");
const DNS_NAT: &str = include_str!("../examples/edge-dns-nat.toml");

fn parse(text: &str) -> Topology {
    Topology::parse("test.toml", text).unwrap_or_else(|e| {
        panic!(
            "{:?}",
            e.problems
                .iter()
                .map(|p| format!("{}: {}", p.code, p.message))
                .collect::<Vec<_>>()
        )
    })
}

/// Code, severity and message of every finding with `code`.
fn found(t: &Topology, code: &str) -> Vec<(Severity, String)> {
    lint(t)
        .findings
        .into_iter()
        .filter(|f| f.code == code)
        .map(|f| (f.severity, f.message))
        .collect()
}

fn replace(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "`{from}` is not in the text");
    text.replacen(from, to, 1)
}

/// The DNS load balanced Edge pool behind NAT, on Skype for Business Server 2019.
fn dns_nat_2019() -> String {
    let text = replace(
        DNS_NAT,
        "name = \"edge-dns-nat\"\n",
        "name = \"edge-dns-nat\"\nversion = \"sfb2019\"\n",
    );
    replace(&text, "xmpp = true", "xmpp = false")
}

#[test]
fn sfb_snat_on_an_external_edge_vip_is_an_error() {
    // the example keeps the source addresses: no finding
    assert!(found(&parse(SFB2019), "sfb-edge-snat").is_empty());
    let access_snat = replace(
        SFB2019,
        "address = \"203.0.113.100\"\n  snat = false",
        "address = \"203.0.113.100\"\n  snat = true",
    );
    let got = found(&parse(&access_snat), "sfb-edge-snat");
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, Severity::Error);
    assert!(got[0].1.contains("access Edge VIP"), "{}", got[0].1);
    // the load balancer targets refuse it like the other lint errors
    let t = parse(&access_snat);
    let p = portplan::plan::compile(&t);
    let err = portplan::render::render(
        &p,
        &t,
        portplan::render::Target::NftablesLb,
        &portplan::render::Scope::All,
    )
    .unwrap_err();
    assert!(err.to_string().contains("sfb-edge-snat"), "{err}");
}

#[test]
fn lync2013_keeps_snat_on_access_and_webconf_and_gets_no_sfb_findings() {
    let t = parse(REFERENCE);
    assert!(t.pools.iter().flat_map(|p| &p.vips).any(|v| v.snat));
    let sfb: Vec<String> = lint(&t)
        .findings
        .iter()
        .filter(|f| f.code.as_str().starts_with("sfb-"))
        .map(|f| f.code.to_string())
        .collect();
    assert!(sfb.is_empty(), "{sfb:?}");
}

/// A second external firewall in front of the Edge's perimeter, `fw-backup` at 10.45.16.2.
fn with_second_external_firewall(text: &str) -> String {
    replace(
        text,
        "[[firewall]]\nname = \"fw-internal\"",
        "[[firewall]]\nname = \"fw-backup\"\n  [[firewall.interface]]\n  name = \"outside\"\n  zone = \"internet\"\n  address = \"198.51.100.2/24\"\n  [[firewall.interface]]\n  name = \"dmz\"\n  zone = \"dmz-ext\"\n  address = \"10.45.16.2/24\"\n\n[[firewall]]\nname = \"fw-internal\"",
    )
}

#[test]
fn sfb_nat_is_symmetric_one_firewall_that_is_also_the_gateway() {
    assert!(found(&parse(SFBSE), "sfb-edge-nat-asymmetric").is_empty());
    // the Edge sends through a firewall that does not translate it
    let base = with_second_external_firewall(SFBSE);
    assert!(found(&parse(&base), "sfb-edge-nat-asymmetric").is_empty());
    let other_gateway = replace(
        &base,
        "gateway = \"10.45.16.1\"",
        "gateway = \"10.45.16.2\"",
    );
    let got = found(&parse(&other_gateway), "sfb-edge-nat-asymmetric");
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, Severity::Error);
    assert!(got[0].1.contains("`fw-backup`") && got[0].1.contains("`fw-external`"));
    // one server's addresses translated by two firewalls
    let split = replace(
        &base,
        "  [[firewall.nat]]\n  public = \"203.0.113.30\"\n  private = \"10.45.16.30\"\n",
        "",
    );
    let split = replace(
        &split,
        "  address = \"10.45.16.2/24\"\n",
        "  address = \"10.45.16.2/24\"\n  [[firewall.nat]]\n  public = \"203.0.113.31\"\n  private = \"10.45.16.30\"\n",
    );
    let got = found(&parse(&split), "sfb-edge-nat-asymmetric");
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].1.contains("2 firewalls"), "{}", got[0].1);
}

#[test]
fn sfb_nat_only_for_a_dns_balanced_edge_pool() {
    // DNS pool behind NAT: allowed
    assert!(found(&parse(&dns_nat_2019()), "lb-edge-nat").is_empty());
    // the hardware balanced pool with one of its server addresses translated: refused
    let natted = replace(
        SFB2019,
        "[[firewall]]\nname = \"fw-internal\"",
        "  [[firewall.nat]]\n  public = \"198.51.100.13\"\n  private = \"203.0.113.13\"\n\n[[firewall]]\nname = \"fw-internal\"",
    );
    let got = found(&parse(&natted), "lb-edge-nat");
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, Severity::Error);
    assert!(found(&parse(SFB2019), "lb-edge-nat").is_empty());
}

#[test]
fn sfb_edge_pool_servers_reach_each_other_on_their_public_av_addresses() {
    // public addresses in one perimeter zone: no firewall between them, nothing to plan
    let got = found(&parse(SFB2019), "sfb-edge-av-peers");
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, Severity::Info);
    assert!(got[0].1.contains("without a firewall"), "{}", got[0].1);
    // behind NAT the traffic turns round on the external firewall, and the plan has no rule for it
    let got = found(&parse(&dns_nat_2019()), "sfb-edge-av-peers");
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, Severity::Warning);
    assert!(
        got[0]
            .1
            .contains("edge01 172.20.10.13 -> edge02 203.0.113.23")
            && got[0]
                .1
                .contains("edge02 172.20.10.23 -> edge01 203.0.113.13"),
        "{}",
        got[0].1
    );
    // a single Edge has no peer
    assert!(found(&parse(SFBSE), "sfb-edge-av-peers").is_empty());
}

#[test]
fn sfb_edge_address_counts_follow_the_pages_tables() {
    // the page's two tables, 2 to 5 servers: one address per service, and one for all
    for (servers, dns, hlb) in [(2, 6, 9), (3, 9, 12), (4, 12, 15), (5, 15, 18)] {
        assert_eq!(addresses_needed(LoadBalancing::Dns, servers, 3), dns);
        assert_eq!(addresses_needed(LoadBalancing::Hlb, servers, 3), hlb);
        assert_eq!(addresses_needed(LoadBalancing::Dns, servers, 1), servers);
        assert_eq!(
            addresses_needed(LoadBalancing::Hlb, servers, 1),
            servers + 1
        );
    }
    assert_eq!(addresses_needed(LoadBalancing::None, 1, 3), 3);

    let info = |text: &str| {
        let got = found(&parse(text), "sfb-edge-addresses");
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].0, Severity::Info, "{}", got[0].1);
        got[0].1.clone()
    };
    let single = info(SFBSE);
    assert!(
        single.contains("asks for 3 IPv4")
            && single.contains("3 private behind NAT, published by 3 public"),
        "{single}"
    );
    assert!(info(&dns_nat_2019()).contains("asks for 6 IPv4"));
    assert!(info(SFB2019).contains("asks for 9 IPv4"));

    // two addresses for three services share one between two services: refused when the file is
    // read (`shared-service-address`, see tests/sfb_edge_fixes.rs), before the lint runs
    let two = replace(SFB2019, "av = \"203.0.113.23\"", "av = \"203.0.113.22\"");
    let err = Topology::parse("test.toml", &two).unwrap_err();
    assert!(
        err.problems
            .iter()
            .any(|p| p.code == "shared-service-address" && p.message.contains("`edge02`")),
        "{:?}",
        err.problems
    );
}

#[test]
fn sfb_edge_pool_larger_than_supported_is_a_warning() {
    assert!(found(&parse(SFB2019), "sfb-edge-pool-size").is_empty());
    // 13 servers in the DNS pool: copies of edge02 with their own addresses
    let mut text = dns_nat_2019();
    let marker = "[[pool]]\nname = \"rp\"";
    assert!(
        text.contains(marker),
        "edge-dns-nat.toml changed its reverse proxy pool"
    );
    let mut extra = String::new();
    let mut nat = String::new();
    for n in 3..=13 {
        extra.push_str(&format!(
            "  [[pool.server]]\n  name = \"edge{n:02}\"\n  interface = [\n    {{ name = \"external\", zone = \"edge-ext\", access = \"172.20.10.{a}\", webconf = \"172.20.10.{b}\", av = \"172.20.10.{c}\", gateway = \"172.20.10.1\" }},\n    {{ name = \"internal\", zone = \"edge-int\", address = \"172.20.20.{i}\", routes = [\"10.50.0.0/16\"] }},\n  ]\n\n",
            a = n * 10 + 1,
            b = n * 10 + 2,
            c = n * 10 + 3,
            i = n * 10 + 1,
        ));
        for k in 1..=3 {
            nat.push_str(&format!(
                "  {{ public = \"203.0.113.{}\", private = \"172.20.10.{}\" }},\n",
                n * 10 + k,
                n * 10 + k
            ));
        }
    }
    text = text.replacen(marker, &format!("{extra}{marker}"), 1);
    let nat_end = "  { public = \"203.0.113.30\", private = \"172.20.10.30\" },\n";
    let text = replace(&text, nat_end, &format!("{nat_end}{nat}"));
    let t = parse(&text);
    let got = found(&t, "sfb-edge-pool-size");
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, Severity::Warning);
    assert!(got[0].1.contains("13 Edge servers"), "{}", got[0].1);
}

/// `text` with each Edge server on one external address for all three services
/// (203.0.113.11 and .21), the VIPs kept as they are.
fn single_address_servers(text: &str) -> String {
    let mut t = text.to_string();
    for (from, to) in [
        ("webconf = \"203.0.113.12\"", "webconf = \"203.0.113.11\""),
        ("av = \"203.0.113.13\"", "av = \"203.0.113.11\""),
        ("webconf = \"203.0.113.22\"", "webconf = \"203.0.113.21\""),
        ("av = \"203.0.113.23\"", "av = \"203.0.113.21\""),
    ] {
        t = replace(&t, from, to);
    }
    t
}

/// `text` with the three external VIPs on the access VIP's address.
fn single_vip(text: &str) -> String {
    let t = replace(
        text,
        "address = \"203.0.113.101\"",
        "address = \"203.0.113.100\"",
    );
    replace(
        &t,
        "address = \"203.0.113.102\"",
        "address = \"203.0.113.100\"",
    )
}

#[test]
fn lb_public_addresses_agrees_with_sfb_edge_addresses_and_single_address_designs_are_refused() {
    let severities = |text: &str, code: &str| -> Vec<Severity> {
        found(&parse(text), code).into_iter().map(|f| f.0).collect()
    };
    // the per-service design keeps its 3 + 3 x 2 = 9 in both checks
    assert_eq!(severities(SFB2019, "sfb-edge-addresses"), [Severity::Info]);
    assert_eq!(severities(SFB2019, "lb-public-addresses"), [Severity::Info]);
    // one address per server for all services: the services would need their own ports, which
    // a topology cannot say, so the file is refused (every version)
    let refused = |text: &str| -> Vec<String> {
        match Topology::parse("test.toml", text) {
            Ok(_) => Vec::new(),
            Err(e) => e.problems.iter().map(|p| p.code.to_string()).collect(),
        }
    };
    for base in [SFB2019, REFERENCE] {
        let codes = refused(&single_address_servers(base));
        assert!(
            codes.iter().any(|c| c == "shared-service-address"),
            "{codes:?}"
        );
    }
    // one VIP for the three external services: the same problem on the VIP
    let codes = refused(&single_vip(SFB2019));
    assert!(codes.iter().any(|c| c == "duplicate-address"), "{codes:?}");
}

/// `portplan plan` on `text` (written to a temporary file): exit code, stdout, stderr.
fn plan_cli(text: &str, extra: &[&str]) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("topology.toml");
    std::fs::write(&file, text).unwrap();
    let out = assert_cmd::Command::cargo_bin("portplan")
        .unwrap()
        .env("NO_COLOR", "1")
        .arg("plan")
        .arg(&file)
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn plan_lists_the_av_peer_requirement_it_has_no_rule_for() {
    // the page asks the NAT firewall to carry A/V Edge peer traffic but names no port, and the
    // planner has no hairpin: the library says so instead of inventing a rule
    let t = parse(&dns_nat_2019());
    let plan = portplan::plan::compile(&t);
    let unplanned = portplan::topology::lint_sfb::unplanned(&t, &plan);
    assert_eq!(unplanned.len(), 1, "{unplanned:?}");
    assert_eq!(unplanned[0].code, "sfb-edge-av-peers");
    assert_eq!(unplanned[0].severity, Severity::Warning);
    // public addresses in one zone need no rule; Lync Server 2013 has no such requirement here
    let t = parse(SFB2019);
    assert!(portplan::topology::lint_sfb::unplanned(&t, &portplan::plan::compile(&t)).is_empty());
    let t = parse(DNS_NAT);
    assert!(portplan::topology::lint_sfb::unplanned(&t, &portplan::plan::compile(&t)).is_empty());

    // `plan` shows it under the rules and warns on stderr, without failing
    let (code, stdout, stderr) = plan_cli(&dns_nat_2019(), &[]);
    assert_eq!(code, Some(0), "{stderr}");
    let section = stdout
        .split("Requirements the plan carries no rule for")
        .nth(1)
        .unwrap_or_else(|| panic!("no unplanned section in\n{stdout}"));
    assert!(
        section.contains("sfb-edge-av-peers") && section.contains("203.0.113.23"),
        "{section}"
    );
    assert!(stderr.contains("sfb-edge-av-peers"), "{stderr}");
    // JSON carries it as `unplanned`
    let (code, stdout, stderr) = plan_cli(&dns_nat_2019(), &["--format", "json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let list = json["unplanned"].as_array().expect("an `unplanned` array");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["code"], "sfb-edge-av-peers");
    assert_eq!(list[0]["severity"], "warning");
    // the Lync Server 2013 file plans as before
    let (code, stdout, _) = plan_cli(DNS_NAT, &[]);
    assert_eq!(code, Some(0));
    assert!(!stdout.contains("carries no rule for"));
}

/// Every help and message of `t`'s lint, and of its validation when it is refused.
fn texts(text: &str) -> Vec<String> {
    match Topology::parse("test.toml", text) {
        Ok(t) => lint(&t)
            .findings
            .into_iter()
            .flat_map(|f| [Some(f.message), f.help])
            .flatten()
            .collect(),
        Err(e) => e
            .problems
            .into_iter()
            .flat_map(|f| [Some(f.message), f.help])
            .flatten()
            .collect(),
    }
}

#[test]
fn sfb_messages_name_the_topologys_product_not_lync() {
    // the A/V Edge behind NAT: the help says where to enter the public address
    let all = texts(SFBSE);
    assert!(
        all.iter().any(|m| m.contains(
            "public address in the Skype for Business Server Subscription Edition topology"
        )),
        "{all:?}"
    );
    assert!(!all.iter().any(|m| m.contains("Lync topology")), "{all:?}");
    let all = texts(DNS_NAT);
    assert!(
        all.iter()
            .any(|m| m.contains("public address in the Lync Server 2013 topology")),
        "{all:?}"
    );
}

#[test]
fn role_messages_do_not_double_the_word_pool() {
    let pool = "\n[[pool]]\nname = \"pchat\"\nrole = \"persistent-chat\"\n  [[pool.server]]\n  name = \"pc01\"\n    [[pool.server.interface]]\n    name = \"lan\"\n    zone = \"internal\"\n    address = \"10.10.5.11\"\n";
    let all = texts(&format!("{SFB2019}{pool}"));
    assert!(
        all.iter()
            .any(|m| m.starts_with("a Persistent Chat Front End Server pool is not available")),
        "{all:?}"
    );
    assert!(!all.iter().any(|m| m.contains("pool pool")), "{all:?}");
}

#[test]
fn sfb_av_snat_help_allows_snat_on_no_edge_vip() {
    let av_snat = replace(
        SFB2019,
        "address = \"203.0.113.102\"\n  snat = false",
        "address = \"203.0.113.102\"\n  snat = true",
    );
    let t = parse(&av_snat);
    let help: Vec<String> = lint(&t)
        .findings
        .into_iter()
        .filter(|f| f.code == "lb-snat-av")
        .filter_map(|f| f.help)
        .collect();
    assert_eq!(help.len(), 1, "{help:?}");
    assert!(
        help[0].contains("SNAT is allowed on no Edge VIP"),
        "{help:?}"
    );
    assert!(!help[0].contains("access and webconf"), "{help:?}");
}
