//! The audit corpus against the kernel: every configuration under tests/fixtures/audit/corpus/
//! (written the way people write them for the reference fw-external / fw-internal) is loaded into
//! the lab firewall, the first, middle and last port of every planned rule of that firewall is
//! sent for real, and what passed is compared with portplan's verdict on the same packet. What the
//! kernel did is stored beside each configuration (`<file>.kernel`), so `tests/audit_corpus.rs`
//! compares against it without root; this test fails when the stored file is stale
//! (`PORTPLAN_BLESS=1` rewrites it).

use crate::harness::flows::{self, Verdict};
use crate::harness::{Lab, lab_prerequisites};
use crate::load;
use portplan::audit::eval::{self, Fate};
use portplan::audit::space::{PROTO_TCP, PROTO_UDP, PacketBox, Region, addr_value};
use portplan::audit::{self, Format};
use portplan::catalog::Transport;
use std::path::PathBuf;

/// The corpus: (path, firewall, format), the firewall and format read from the file name.
pub fn corpus() -> Vec<(PathBuf, String, Format)> {
    crate::common::audit_corpus()
}

/// Loads a configuration into the firewall namespace the way its tool would.
fn load_config(lab: &Lab, fw: &str, format: Format, text: &str) {
    let _ = lab.exec(fw, &["nft", "flush", "ruleset"]);
    let _ = lab.exec(fw, &["ipset", "destroy"]);
    let out = match format {
        Format::Iptables => {
            // an `ipset save` in the same file goes to `ipset restore` first
            let (sets, rules): (Vec<&str>, Vec<&str>) = text
                .lines()
                .partition(|l| l.starts_with("create ") || l.starts_with("add "));
            if !sets.is_empty() {
                let out = lab.exec_stdin(fw, "ipset restore", &(sets.join("\n") + "\n"));
                assert!(
                    out.status.success(),
                    "ipset restore: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            lab.exec_stdin(fw, "iptables-restore", &(rules.join("\n") + "\n"))
        }
        Format::NftablesJson => lab.exec_stdin(fw, "nft -j -f -", text),
        _ => lab.exec_stdin(fw, "nft -f -", text),
    };
    assert!(
        out.status.success(),
        "the kernel refused it: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn point(src: std::net::IpAddr, dst: std::net::IpAddr, t: Transport, port: u16) -> Region {
    Region::of(PacketBox {
        src: (addr_value(src), addr_value(src)),
        dst: (addr_value(dst), addr_value(dst)),
        proto: if t == Transport::Tcp {
            PROTO_TCP
        } else {
            PROTO_UDP
        },
        port: (port, port),
    })
}

#[test]
fn audit_corpus_verdicts_agree_with_the_kernel() {
    let Some(_guard) = lab_prerequisites(&["nft", "iptables-restore", "ipset"]) else {
        return;
    };
    let (t, plan) = load("reference.toml");
    let lab = Lab::build(&t, "ppcorp");
    let bless = std::env::var_os("PORTPLAN_BLESS").is_some();
    let mut flows_sent = 0;
    let mut disagreements: Vec<String> = Vec::new();
    let mut stale: Vec<String> = Vec::new();
    let files = corpus();
    assert!(files.len() >= 8, "{} configurations", files.len());
    for (path, firewall, format) in &files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let text = crate::common::read(path);
        let fw = lab.firewall_ns(firewall).to_string();
        load_config(&lab, &fw, *format, &text);
        let config = audit::parse(*format, &text).unwrap();
        let mut p = plan.clone();
        // only this firewall's rules; flows and skipped rows stay for context
        p.rules.retain(|r| r.firewall == *firewall);
        let (allowed, unplaceable) = flows::allowed_checks(&lab, &p);
        assert_eq!(unplaceable, 0, "{name}: flows the lab cannot place");
        // beside the planned flows, their neighbours the plan does not ask for: each reversed,
        // one port past each end, the other transport
        let denied = flows::denied_checks(&t, &p, &allowed);
        let mut checks = Vec::new();
        let mut meta = Vec::new();
        for mut c in allowed.into_iter().chain(denied) {
            let (reverse, rest) = match c.label.strip_prefix("reverse of ") {
                Some(rest) => (true, rest.to_string()),
                None => (false, c.label.clone()),
            };
            let id: usize = rest[1..]
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap();
            let r = p.rules.iter().find(|r| r.id == id).unwrap();
            let kind = if reverse {
                "reverse"
            } else if rest.contains(" but ") {
                "neighbour"
            } else {
                "planned"
            };
            let (iif, oif) = if reverse {
                (r.egress_interface.clone(), r.ingress_interface.clone())
            } else {
                (r.ingress_interface.clone(), r.egress_interface.clone())
            };
            let pieces = eval::evaluate(
                &config,
                r.family,
                &iif,
                &oif,
                point(c.src, c.dst, c.transport, c.port),
            );
            c.expect_open = match &pieces[0].fate {
                Fate::Allowed(_) => true,
                Fate::Denied(_) => false,
                Fate::Uncertain(at) => {
                    disagreements.push(format!("{name}: {} uncertain: {at:?}", c.label));
                    false
                }
            };
            c.label = format!("{name}: {}", c.label);
            meta.push(format!("r{id} {kind} {iif} {oif}"));
            checks.push(c);
        }
        let wrong = flows::run_all(&lab, &checks);
        flows_sent += checks.len();
        let mut record = String::from(
            "# What the kernel did with each flow of the planned rules, sent through the lab firewall by\n# tests/netns/corpus.rs (PORTPLAN_BLESS=1 rewrites this file). rule kind ingress egress transport\n# source destination port verdict (kind: planned = first/middle/last port of a planned rule, reverse\n# and neighbour = the same flow reversed, one port outside, or the other transport)\n",
        );
        for (c, meta) in checks.iter().zip(&meta) {
            let passed = match wrong.iter().find(|(w, _)| {
                w.label == c.label
                    && w.src == c.src
                    && w.dst == c.dst
                    && w.port == c.port
                    && w.transport == c.transport
            }) {
                Some((_, v)) => matches!(v, Verdict::Open | Verdict::WrongSource(_)),
                None => c.expect_open,
            };
            if passed != c.expect_open {
                disagreements.push(format!(
                    "{}: portplan says {}, the kernel {}",
                    flows::describe(
                        c,
                        if passed {
                            Verdict::Open
                        } else {
                            Verdict::Dropped
                        }
                    ),
                    if c.expect_open { "allowed" } else { "denied" },
                    if passed { "passed it" } else { "did not" }
                ));
            }
            record.push_str(&format!(
                "{meta} {} {} {} {} {}\n",
                c.transport,
                c.src,
                c.dst,
                c.port,
                if passed { "pass" } else { "drop" }
            ));
        }
        let stored = path.with_file_name(format!("{name}.kernel"));
        if bless {
            std::fs::write(&stored, &record).unwrap();
        } else if std::fs::read_to_string(&stored).ok().as_deref() != Some(record.as_str()) {
            stale.push(stored.display().to_string());
        }
    }
    for fw in ["fw-external", "fw-internal"] {
        let _ = lab.exec(lab.firewall_ns(fw), &["nft", "flush", "ruleset"]);
        let _ = lab.exec(lab.firewall_ns(fw), &["ipset", "destroy"]);
    }
    eprintln!(
        "audit corpus: {flows_sent} flows over {} configurations sent through the kernel, {} disagreements",
        files.len(),
        disagreements.len()
    );
    assert!(flows_sent >= 300, "{flows_sent} flows");
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
    assert!(
        stale.is_empty(),
        "the kernel's verdicts differ from the stored ones (rerun with PORTPLAN_BLESS=1 and review): {stale:?}"
    );
}
