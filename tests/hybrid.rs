//! Hybrid with Microsoft 365: `[hybrid]` plans the Edge's rows towards Skype for Business Online /
//! Teams with the address ranges of the endpoint snapshot in use, and refuses what it cannot use.

use assert_cmd::Command;
use portplan::plan;
use portplan::topology::Topology;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn example() -> String {
    std::fs::read_to_string(root().join("examples/sfb2019-hybrid.toml")).unwrap()
}

/// The hybrid example with its `[hybrid]` section replaced.
fn with_hybrid(section: &str) -> String {
    let text = example();
    let start = text.find("[hybrid]").unwrap();
    let end = start + text[start..].find("[options]").unwrap();
    format!("{}{section}\n\n{}", &text[..start], &text[end..])
}

fn portplan() -> Command {
    Command::cargo_bin("portplan").unwrap()
}

#[test]
fn hybrid_rows_open_sip_and_media_between_the_edge_and_microsoft_365() {
    let t = Topology::parse("sfb2019-hybrid.toml", &example()).unwrap();
    let p = plan::compile(&t);
    let hybrid: Vec<_> = p
        .rules
        .iter()
        .filter(|r| r.rows.iter().any(|row| row.scenario == "hybrid"))
        .collect();
    // the page's seven rows, each one rule on the external firewall (IPv4 only here)
    assert_eq!(hybrid.len(), 7, "{hybrid:#?}");
    assert!(hybrid.iter().all(|r| r.firewall == "fw-external"));
    let m365 = |g: &plan::Group| g.role == "microsoft-365";
    let inbound_tcp_media = hybrid
        .iter()
        .find(|r| r.ports.to_string() == "50000-59999" && m365(&r.source))
        .expect("Microsoft 365 -> A/V Edge 50000-59999");
    let nets: Vec<String> = inbound_tcp_media
        .source
        .members
        .iter()
        .map(|m| m.net.to_string())
        .collect();
    assert_eq!(nets, vec!["52.112.0.0/14", "52.122.0.0/15"]);
    // the Edge pool is hardware balanced: SIP 5061 both ways is the Access Edge VIP's, as in the
    // HLB external VIP table, so the hybrid rows ride on the VIP's own 5061 rules
    for (what, edge_end) in [
        ("Access Edge -> Microsoft 365 5061", true),
        ("Microsoft 365 -> Access Edge 5061", false),
    ] {
        let rule = hybrid
            .iter()
            .find(|r| {
                r.ports.to_string() == "5061"
                    && (if edge_end { &r.source } else { &r.destination }).role == "edge.access.vip"
            })
            .unwrap_or_else(|| panic!("{what}: {hybrid:#?}"));
        let far = if edge_end {
            &rule.destination
        } else {
            &rule.source
        };
        assert!(m365(far) || far.role == "any", "{what}: {rule:#?}");
    }
    // Microsoft 365 -> A/V Edge 3478/udp lies inside the Edge's own `any` -> A/V 3478/udp rule on
    // the same hop, which carries the hybrid row
    let inbound_media = hybrid
        .iter()
        .find(|r| r.ports.to_string() == "3478" && r.destination.role == "edge.av.public")
        .expect("a rule carries hybrid/microsoft-365#7");
    assert!(m365(&inbound_media.source) || inbound_media.source.role.starts_with("any"));
}

#[test]
fn without_hybrid_no_row_reaches_microsoft_365() {
    let text = with_hybrid("");
    let t = Topology::parse("no-hybrid.toml", &text).unwrap();
    let p = plan::compile(&t);
    assert!(
        p.rules
            .iter()
            .all(|r| r.source.role != "microsoft-365" && r.destination.role != "microsoft-365")
    );
    assert!(!t.scenarios().contains(&"hybrid"));
}

#[test]
fn hybrid_uses_the_snapshot_the_topology_names() {
    let dir = tempfile::tempdir().unwrap();
    portplan()
        .args(["endpoints", "import", "--version", "2022072800", "-o"])
        .arg(dir.path().join("m365.json"))
        .arg(root().join("tests/fixtures/endpoints/worldwide-2022072800.json"))
        .assert()
        .success();
    let topo = dir.path().join("hybrid.toml");
    std::fs::write(
        &topo,
        with_hybrid("[hybrid]\nendpoints = \"m365.json\"\nmax_age_days = 100000"),
    )
    .unwrap();
    let out = portplan()
        .args(["plan", "--format", "json"])
        .arg(&topo)
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    // the 2022 ranges, not the built-in 2026 ones
    assert!(text.contains("13.107.64.0/18") && text.contains("52.120.0.0/14"));
    assert!(!text.contains("52.122.0.0/15"));
    // and check says which data it used, without a staleness warning under a generous limit
    let out = portplan().arg("check").arg(&topo).assert().success();
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string()
        + &String::from_utf8_lossy(&out.get_output().stdout);
    assert!(
        err.contains("m365.json") && err.contains("2022072800"),
        "{err}"
    );
    assert!(!err.contains("hybrid-endpoints-age"), "{err}");
}

#[test]
fn stale_endpoint_data_is_a_warning_in_check() {
    let dir = tempfile::tempdir().unwrap();
    let topo = dir.path().join("hybrid.toml");
    // the built-in data was published on 2026-08-14: a one-day limit makes it stale
    std::fs::write(&topo, with_hybrid("[hybrid]\nmax_age_days = 1")).unwrap();
    let out = portplan().arg("check").arg(&topo).assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string()
        + &String::from_utf8_lossy(&out.get_output().stderr);
    assert!(text.contains("hybrid-endpoints-age"), "{text}");
}

#[test]
fn unusable_hybrid_sections_are_errors_at_their_place() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("exchange.json"), r#"{"instance":"Worldwide","published":"2026-01-01","source":"test","endpoints":[{"id":1,"serviceArea":"Exchange","category":"Allow"}]}"#).unwrap();
    let cases: &[(&str, &str)] = &[
        (
            "[hybrid]\nendpoints = \"missing.json\"",
            "cannot use the endpoint snapshot",
        ),
        ("[hybrid]\nendpoints = \"exchange.json\"", "Skype"),
        ("[hybrid]\nendpoints = \".\"", "not a regular file"),
        ("[hybrid]\nmax_age_days = 0", "not a number of days"),
        ("[hybrid]\ntenant = \"contoso\"", "unknown field `tenant`"),
    ];
    for (section, why) in cases {
        let topo = dir.path().join("t.toml");
        std::fs::write(&topo, with_hybrid(section)).unwrap();
        let out = portplan().arg("check").arg(&topo).assert().code(2);
        let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(err.contains(why), "`{section}`: {err}");
        assert!(err.contains("t.toml:"), "the place in the file: {err}");
    }
}

#[test]
fn hybrid_needs_an_edge_pool() {
    let text = std::fs::read_to_string(root().join("examples/reference.toml"))
        .unwrap()
        .replace("[options]", "[hybrid]\n\n[options]");
    // the reference topology has an Edge: accepted
    Topology::parse("ref.toml", &text).unwrap();
    let no_edge = r#"
name = "lab"
[features]
hybrid = true
[[zone]]
name = "internet"
kind = "internet"
networks = ["0.0.0.0/0"]
[[zone]]
name = "internal"
kind = "internal"
networks = ["10.0.0.0/8"]
[[firewall]]
name = "fw"
  [[firewall.interface]]
  name = "outside"
  zone = "internet"
  [[firewall.interface]]
  name = "inside"
  zone = "internal"
[[pool]]
name = "fe"
role = "front-end"
  [[pool.server]]
  name = "fe01"
  interface = [{ name = "lan", zone = "internal", address = "10.0.0.10" }]
"#;
    let err = Topology::parse("lab.toml", no_edge).unwrap_err();
    assert!(
        err.problems
            .iter()
            .any(|f| f.code == "feature-needs-role" && f.message.contains("no Edge pool")),
        "{:?}",
        err.problems
    );
}

#[test]
fn microsoft_365_ranges_become_a_named_set_in_the_firewall_rules() {
    let dir = tempfile::tempdir().unwrap();
    portplan()
        .args(["render", "--target", "nftables", "-o"])
        .arg(dir.path())
        .arg(root().join("examples/sfb2019-hybrid.toml"))
        .assert()
        .success();
    let nft = std::fs::read_to_string(dir.path().join("fw-external.nft")).unwrap();
    let set = nft
        .split("set microsoft_365_v4 {")
        .nth(1)
        .expect("a named set of the Microsoft 365 ranges");
    let set = &set[..set.find('}').unwrap()];
    assert!(
        set.contains("52.112.0.0/14") && set.contains("52.122.0.0/15"),
        "{set}"
    );
}

#[test]
fn probe_dial_outside_the_destination_network_is_refused_before_anything_is_sent() {
    let file = root().join("examples/sfb2019-hybrid.toml");
    for (dial, says) in [
        ("52.112.0.0/14=198.51.100.7", "is not inside 52.112.0.0/14"),
        (
            "microsoft-365=198.51.100.7",
            "is not inside any network of `microsoft-365`",
        ),
        ("10.0.0.0/8=10.1.1.1", "no planned flow from `edge01`"),
        ("52.112.0.0/14=52.112.0.0", "network or broadcast address"),
        ("52.112.0.0/14", "is not NETWORK=ADDRESS"),
    ] {
        let out = portplan()
            .env("NO_COLOR", "1")
            .args(["probe"])
            .arg(&file)
            .args(["--from", "edge01", "--timeout", "10", "--dial", dial])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "--dial {dial}: {stderr}");
        assert!(stderr.contains(says), "--dial {dial}: {stderr}");
        assert!(out.stdout.is_empty(), "--dial {dial} printed results");
    }
}

/// `check` of the hybrid example pointed at an endpoint snapshot holding `ips`: exit code and
/// the diagnostics.
fn check_with_endpoint_ips(ips: &str, published: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("m365.json"),
        format!(r#"{{"instance":"Worldwide","published":"{published}","source":"test","endpoints":[{{"id":11,"serviceArea":"Skype","category":"Optimize","udpPorts":"3478-3481","ips":[{ips}]}}]}}"#),
    )
    .unwrap();
    let topo = dir.path().join("t.toml");
    std::fs::write(
        &topo,
        with_hybrid("[hybrid]\nendpoints = \"m365.json\"\nmax_age_days = 100000"),
    )
    .unwrap();
    // JSON: the messages unwrapped, whatever the terminal width
    let out = portplan()
        .args(["check", "--format", "json"])
        .arg(&topo)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn endpoint_ranges_inside_the_topologys_own_networks_are_errors_naming_file_range_and_zone() {
    let cases: &[(&str, &[&str])] = &[
        // the perimeter, and one of the Edge's public addresses in it
        (
            r#""203.0.113.0/24""#,
            &["m365.json", "203.0.113.0/24", "perimeter-external"],
        ),
        (
            r#""52.112.0.0/14","203.0.113.11/32""#,
            &["m365.json", "203.0.113.11/32", "perimeter-external"],
        ),
        // the internet-side address of the external firewall
        (
            r#""198.51.100.0/24""#,
            &["m365.json", "198.51.100.0/24", "fw-external", "outside"],
        ),
        // the internal network: private, refused with the file named (not `no-firewall-path`)
        (
            r#""10.10.0.0/16""#,
            &["m365.json", "10.10.0.0/16", "private"],
        ),
    ];
    for (ips, named) in cases {
        let (code, err) = check_with_endpoint_ips(ips, "2026-11-01");
        assert_eq!(code, 2, "`{ips}`: {err}");
        for n in *named {
            assert!(err.contains(n), "`{ips}` does not name {n}: {err}");
        }
        assert!(!err.contains("no-firewall-path"), "`{ips}`: {err}");
    }
    let (code, err) = check_with_endpoint_ips(r#""52.112.0.0/14""#, "2026-11-01");
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_future_dated_endpoint_snapshot_is_an_error_in_check() {
    let (code, err) = check_with_endpoint_ips(r#""52.112.0.0/14""#, "2999-01-01");
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("hybrid-endpoints-age")
            && err.contains("2999-01-01")
            && err.contains("after today"),
        "{err}"
    );
}

#[test]
fn hybrid_without_federation_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let topo = dir.path().join("t.toml");
    let text = example().replacen("federation = true", "federation = false", 1);
    std::fs::write(&topo, &text).unwrap();
    let out = portplan().arg("check").arg(&topo).assert().code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("hybrid-needs-federation") && err.contains("federation = true"),
        "{err}"
    );
    // a [hybrid] section with no federation key at all is refused the same way
    std::fs::write(&topo, example().replacen("federation = true\n", "", 1)).unwrap();
    let out = portplan().arg("check").arg(&topo).assert().code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("hybrid-needs-federation"), "{err}");
}

#[test]
fn hybrid_sip_uses_the_access_edge_vip_behind_a_hardware_load_balancer() {
    let t = Topology::parse("sfb2019-hybrid.toml", &example()).unwrap();
    let p = plan::compile(&t);
    let sip: Vec<_> = p
        .flows
        .iter()
        .filter(|f| f.rows.iter().any(|r| r.scenario == "hybrid") && f.ports.to_string() == "5061")
        .collect();
    assert_eq!(sip.len(), 2, "{sip:#?}");
    for f in &sip {
        let edge = if f.source.role == "microsoft-365" {
            &f.destination
        } else {
            &f.source
        };
        assert_eq!(edge.role, "edge.access.vip", "{f:#?}");
        let addrs: Vec<String> = edge.members.iter().map(|m| m.net.to_string()).collect();
        assert_eq!(addrs, ["203.0.113.100/32"], "{f:#?}");
    }
    // the A/V Edge rows keep the servers' own addresses (both HLB tables list them there)
    assert!(
        p.flows
            .iter()
            .any(|f| f.rows.iter().any(|r| r.scenario == "hybrid")
                && f.destination.role == "edge.av.public")
    );
}
