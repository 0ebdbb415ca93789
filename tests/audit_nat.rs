//! `portplan audit` and static NAT, end to end through the CLI on the edge-single-nat example: the
//! generated fw-external configuration (nftables, iptables, ASA) audits as all allowed; with NAT
//! lines removed, changed, narrowed or unreadable the flows that need them are blocked, partial or
//! uncertain (exit 1) and the finding names the plan's entry and the line.

mod common;

use assert_cmd::Command;
use portplan::plan;
use portplan::render::{self, Scope, Target};
use portplan::topology::Topology;
use serde_json::Value;

const EXAMPLE: &str = "edge-single-nat.toml";
/// Planned rules of fw-external that reach or leave edge01's A/V address (172.16.10.12).
const AV_INBOUND: [usize; 2] = [13, 14];
const AV_OUTBOUND: [usize; 3] = [11, 12, 15];

fn generated(target: Target) -> String {
    let path = common::example(EXAMPLE);
    let t = Topology::parse(EXAMPLE, &common::read(&path)).unwrap();
    let p = plan::compile(&t);
    let files =
        render::render_files(&p, &t, target, &Scope::Firewall("fw-external".into())).unwrap();
    files
        .into_iter()
        .find(|a| a.file.starts_with("fw-external"))
        .expect("a fw-external file")
        .text
}

fn audit(text: &str, format: &str) -> (Option<i32>, Value) {
    use std::io::Write;
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    let out = Command::cargo_bin("portplan")
        .unwrap()
        .arg("audit")
        .arg(common::example(EXAMPLE))
        .args([
            "--firewall",
            "fw-external",
            "--format",
            format,
            "--format-out",
            "json",
            "--config",
        ])
        .arg(f.path())
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), json)
}

fn status(a: &Value, rule: usize) -> String {
    a["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == format!("r{rule}"))
        .unwrap_or_else(|| panic!("no rule r{rule}"))["status"]
        .as_str()
        .unwrap()
        .to_string()
}

fn findings(a: &Value) -> Vec<Value> {
    a["nat"].as_array().cloned().unwrap_or_default()
}

fn without(text: &str, pred: impl Fn(&str) -> bool) -> String {
    let out: String = text
        .lines()
        .filter(|l| !pred(l))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(out.len(), text.len(), "the edit removed nothing");
    out
}

const FORMATS: [(Target, &str); 3] = [
    (Target::Nftables, "nftables"),
    (Target::Iptables, "iptables"),
    (Target::Asa, "asa"),
];

#[test]
fn generated_nat_configs_audit_as_all_allowed() {
    for (target, format) in FORMATS {
        let (code, a) = audit(&generated(target), format);
        assert_eq!(code, Some(0), "{format}: {a:#}");
        assert!(findings(&a).is_empty(), "{format}: {:#}", a["nat"]);
        assert_eq!(a["rules"].as_array().unwrap().len(), 16, "{format}");
    }
}

/// What was seen: both static NAT lines of the A/V Edge gone, and the audit still said allowed.
#[test]
fn av_edge_without_its_static_nat_lines_is_blocked_not_allowed() {
    for (target, format) in FORMATS {
        let text = generated(target);
        let broken = match target {
            // the DNAT and the SNAT line carry the entry's comment
            Target::Nftables | Target::Iptables => {
                without(&text, |l| l.contains("static NAT edge01 av"))
            }
            _ => without(&text, |l| {
                l.trim() == "nat (dmz,outside) static 203.0.113.12"
            }),
        };
        let (code, a) = audit(&broken, format);
        assert_eq!(code, Some(1), "{format}");
        for r in AV_INBOUND.iter().chain(&AV_OUTBOUND) {
            assert_eq!(status(&a, *r), "blocked", "{format} r{r}: {a:#}");
        }
        for r in (1..=16).filter(|r| !AV_INBOUND.contains(r) && !AV_OUTBOUND.contains(r)) {
            assert_eq!(status(&a, r), "allowed", "{format} r{r}");
        }
        let f = findings(&a);
        let missing: Vec<&Value> = f.iter().filter(|x| x["problem"] == "missing").collect();
        assert_eq!(missing.len(), 2, "{format}: both directions: {f:#?}");
        assert!(
            missing
                .iter()
                .all(|m| m["plan"].as_str().unwrap().contains("203.0.113.12")
                    && m["plan"].as_str().unwrap().contains("edge01 av")),
            "{format}: {missing:#?}"
        );
        // the blocked part says which translation it lacks
        let r14 = a["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["rule"] == "r14")
            .unwrap();
        let by = r14["parts"][0]["by"][0]["text"].as_str().unwrap();
        assert!(by.contains("no translation of 203.0.113.12"), "{by}");
    }
}

#[test]
fn a_translation_to_another_address_is_a_finding_with_its_line() {
    for (target, format) in FORMATS {
        let text = generated(target);
        let changed = match target {
            Target::Nftables => text.replace("dnat ip to 172.16.10.11", "dnat ip to 172.16.10.99"),
            Target::Iptables => text.replace(
                "--to-destination 172.16.10.11",
                "--to-destination 172.16.10.99",
            ),
            _ => text.replace(
                " nat (dmz,outside) static 203.0.113.11",
                " nat (dmz,outside) static 203.0.113.99",
            ),
        };
        assert_ne!(changed, text);
        let (code, a) = audit(&changed, format);
        assert_eq!(code, Some(1), "{format}");
        // r10: PSOM from the internet to the web conferencing address
        assert_eq!(status(&a, 10), "blocked", "{format}");
        let f = findings(&a);
        let bad = f
            .iter()
            .find(|x| {
                x["problem"] == "different"
                    || x["problem"] == "missing" && x["direction"] == "inbound"
            })
            .unwrap_or_else(|| panic!("{format}: {f:#?}"));
        assert!(
            bad["plan"].as_str().unwrap().contains("203.0.113.11"),
            "{bad:#}"
        );
        if target != Target::Asa {
            assert_eq!(bad["problem"], "different", "{format}");
            assert!(bad["at"][0]["line"].as_u64().is_some(), "{bad:#}");
            assert!(bad["detail"].as_str().unwrap().contains("172.16.10.99"));
        } else {
            // the ASA publishes the server under another address: that one is not planned
            assert!(
                f.iter().any(|x| x["problem"] == "unplanned"
                    && x["detail"].as_str().unwrap().contains("203.0.113.99")),
                "{f:#?}"
            );
        }
    }
}

#[test]
fn an_unplanned_translation_is_reported_with_its_line() {
    let extra = [
        (
            Target::Nftables,
            "nftables",
            "chain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n",
            "\t\tiifname \"outside\" ip daddr 203.0.113.50 dnat ip to 172.16.10.50\n",
        ),
        (
            Target::Iptables,
            "iptables",
            ":POSTROUTING ACCEPT [0:0]\n",
            "-A PREROUTING -i outside -d 203.0.113.50/32 -j DNAT --to-destination 172.16.10.50\n",
        ),
        (
            Target::Asa,
            "asa",
            "!\naccess-list",
            "object network EXTRA\n host 172.16.10.50\n nat (dmz,outside) static 203.0.113.50\n",
        ),
    ];
    for (target, format, after, line) in extra {
        let text = generated(target);
        let at = text.find(after).unwrap_or_else(|| panic!("{format}")) + after.len();
        let at = if target == Target::Asa {
            text.find(after).unwrap() + 2
        } else {
            at
        };
        let mut changed = text.clone();
        changed.insert_str(at, line);
        let (code, a) = audit(&changed, format);
        // the planned flows still work; the extra publication is a finding
        assert_eq!(code, Some(0), "{format}: {a:#}");
        let f = findings(&a);
        let extra: Vec<&Value> = f.iter().filter(|x| x["problem"] == "unplanned").collect();
        assert!(
            extra.iter().any(|x| x["direction"] == "inbound"
                && x["detail"].as_str().unwrap().contains("203.0.113.50")
                && x["at"][0]["line"].as_u64().is_some()),
            "{format}: {f:#?}"
        );
    }
}

#[test]
fn a_translation_for_tcp_only_leaves_the_udp_flows_blocked() {
    let text = generated(Target::Nftables).replace(
        "iifname \"outside\" ip daddr 203.0.113.12 dnat",
        "iifname \"outside\" ip daddr 203.0.113.12 meta l4proto tcp dnat",
    );
    let (code, a) = audit(&text, "nftables");
    assert_eq!(code, Some(1));
    assert_eq!(status(&a, 14), "allowed", "tcp 443 to the A/V address");
    assert_eq!(status(&a, 13), "blocked", "udp 3478 to the A/V address");
    let f = findings(&a);
    assert!(
        f.iter()
            .any(|x| x["problem"] == "partial" && x["detail"].as_str().unwrap().contains("udp")),
        "{f:#?}"
    );
}

#[test]
fn a_nat_line_portplan_cannot_read_makes_its_flows_uncertain() {
    let cases = [
        (
            Target::Iptables,
            "iptables",
            "-A PREROUTING -i outside -d 203.0.113.12/32 -m comment",
            "-A PREROUTING -i outside -d 203.0.113.12/32 -m statistic --mode random --probability 0.5 -m comment",
        ),
        (
            Target::Nftables,
            "nftables",
            "iifname \"outside\" ip daddr 203.0.113.12 dnat ip to 172.16.10.12",
            "iifname \"outside\" ip daddr 203.0.113.12 dnat ip to numgen inc mod 2 map { 0 : 172.16.10.12, 1 : 172.16.10.13 }",
        ),
        (
            Target::Asa,
            "asa",
            " nat (dmz,outside) static 203.0.113.12",
            " nat (dmz,outside) static 203.0.113.12 pat-pool EXTRA",
        ),
    ];
    for (target, format, from, to) in cases {
        let text = generated(target);
        assert!(text.contains(from), "{format}");
        let (code, a) = audit(&text.replacen(from, to, 1), format);
        assert_eq!(code, Some(1), "{format}");
        for r in AV_INBOUND {
            assert_eq!(status(&a, r), "uncertain", "{format} r{r}: {a:#}");
        }
        assert_eq!(status(&a, 10), "allowed", "{format}: webconf is untouched");
        assert!(
            findings(&a).iter().any(|x| x["problem"] == "uncertain"),
            "{format}"
        );
    }
}

#[test]
fn text_output_lists_nat_findings_as_notes() {
    let text = without(&generated(Target::Iptables), |l| {
        l.contains("static NAT edge01 av")
    });
    use std::io::Write;
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    let out = Command::cargo_bin("portplan")
        .unwrap()
        .arg("audit")
        .arg(common::example(EXAMPLE))
        .args([
            "--firewall",
            "fw-external",
            "--format",
            "iptables",
            "--config",
        ])
        .arg(f.path())
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        s.contains("note: NAT missing (inbound, plan: 203.0.113.12 <-> 172.16.10.12 (edge01 av) on outside)"),
        "{s}"
    );
    assert!(s.contains("BLOCKED"), "{s}");
}

#[test]
fn an_unplanned_dnat_and_snat_pair_is_one_static_nat_finding() {
    let text = generated(Target::Iptables).replace(
        ":POSTROUTING ACCEPT [0:0]\n",
        ":POSTROUTING ACCEPT [0:0]\n-A PREROUTING -i outside -d 203.0.113.60/32 -j DNAT --to-destination 172.16.10.60\n-A POSTROUTING -o outside -s 172.16.10.60/32 -j SNAT --to-source 203.0.113.60\n",
    );
    let (code, a) = audit(&text, "iptables");
    assert_eq!(code, Some(0));
    let f = findings(&a);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0]["problem"], "unplanned");
    assert_eq!(f[0]["at"].as_array().unwrap().len(), 2);
    assert!(
        f[0]["detail"]
            .as_str()
            .unwrap()
            .contains("static NAT 203.0.113.60 <-> 172.16.10.60"),
        "{f:#?}"
    );
}

/// Mutated NAT configurations (lines dropped, duplicated, words swapped or replaced) never panic a
/// reader or the audit, and every audit still answers for all 16 planned rules.
#[test]
fn nat_readers_never_panic_on_mutated_configs() {
    let path = common::example(EXAMPLE);
    let t = Topology::parse(EXAMPLE, &common::read(&path)).unwrap();
    let p = plan::compile(&t);
    let vocabulary = [
        "static",
        "dynamic",
        "source",
        "destination",
        "interface",
        "any",
        "(dmz,outside)",
        "(any,any)",
        "after-auto",
        "unidirectional",
        "service",
        "tcp",
        "-j",
        "DNAT",
        "SNAT",
        "NETMAP",
        "--to",
        "--to-destination",
        "dnat",
        "snat",
        "to",
        "masquerade",
        "accept",
        "203.0.113.12",
        "172.16.10.0/24",
        "255.255.255.0",
        "0.0.0.0/0",
        "::/0",
        "65535",
        "",
    ];
    let mut rng = common::Rng(0x5eed_1234_abcd_0001);
    for (target, format) in FORMATS {
        let text = generated(target);
        let lines: Vec<&str> = text.lines().collect();
        for _ in 0..150 {
            let mut out: Vec<String> = Vec::new();
            for l in &lines {
                if rng.chance(3) {
                    continue;
                }
                let mut words: Vec<String> = l.split(' ').map(String::from).collect();
                if rng.chance(8) && !words.is_empty() {
                    let i = rng.below(words.len());
                    words[i] = rng.pick(&vocabulary).to_string();
                }
                if rng.chance(3) && words.len() > 1 {
                    let (i, j) = (rng.below(words.len()), rng.below(words.len()));
                    words.swap(i, j);
                }
                out.push(words.join(" "));
                if rng.chance(2) {
                    out.push(l.to_string());
                }
            }
            let mutated = out.join("\n") + "\n";
            let Ok(config) = portplan::audit::parse(format.parse().unwrap(), &mutated) else {
                continue;
            };
            let a = portplan::audit::judge::audit(&p, &t, "fw-external", &config);
            assert_eq!(a.rules.len(), 16, "{format}");
        }
    }
}

/// The report of a hand-broken NAT table (A/V entry gone, web conferencing retargeted), as JSON.
#[test]
fn golden_audit_of_a_broken_nat_table() {
    let path = common::example(EXAMPLE);
    let t = Topology::parse(EXAMPLE, &common::read(&path)).unwrap();
    let p = plan::compile(&t);
    let text = common::read(
        &common::repo().join("tests/fixtures/audit/edge-single-nat-broken-nat.iptables"),
    );
    let config = portplan::audit::parse(portplan::audit::Format::Iptables, &text).unwrap();
    let a = portplan::audit::judge::audit(&p, &t, "fw-external", &config);
    assert!(!a.all_allowed());
    let json = serde_json::to_string_pretty(&a).unwrap() + "\n";
    common::golden("audit/edge-single-nat-broken-nat.iptables.json", &json);
}
