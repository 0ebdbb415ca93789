//! Tests that need root and the real kernel: the generated rules are loaded into network namespaces
//! built from the topology, and real packets prove they allow what the plan allows and drop the rest.
//! All such tests live in this one binary and take the harness lock, so they run one at a time.

mod common;
mod harness;

use harness::flows::{self, Check};
use harness::{Lab, available, serialize};
use portplan::plan::{self, Plan};
use portplan::render::{self, Artifact, Scope, Target};
use portplan::topology::Topology;

fn load(name: &str) -> (Topology, Plan) {
    let t = Topology::parse(name, &common::read(&common::example(name))).unwrap();
    let p = plan::compile(&t);
    (t, p)
}

fn files(t: &Topology, p: &Plan, target: Target) -> Vec<Artifact> {
    render::render_files(p, t, target, &Scope::All).unwrap()
}

fn file<'a>(files: &'a [Artifact], name: &str) -> Option<&'a str> {
    files
        .iter()
        .find(|a| a.file == name)
        .map(|a| a.text.as_str())
}

#[test]
fn nft_accepts_the_generated_rulesets() {
    let _guard = serialize();
    if !available(&["nft"]) {
        return;
    }
    for example in ["reference.toml", "dns-director-3edge.toml"] {
        let (t, p) = load(example);
        for a in files(&t, &p, Target::Nftables) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(&a.file);
            std::fs::write(&path, &a.text).unwrap();
            let out = std::process::Command::new("nft")
                .arg("-c")
                .arg("-f")
                .arg(&path)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{example} {}: {}",
                a.file,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn iptables_restore_accepts_the_generated_files() {
    let _guard = serialize();
    if !available(&["iptables-restore", "ip6tables-restore", "ipset"]) {
        return;
    }
    for (example, prefix) in [
        ("reference.toml", "ppchk1"),
        ("dns-director-3edge.toml", "ppchk2"),
    ] {
        let (t, p) = load(example);
        let out = files(&t, &p, Target::Iptables);
        // an empty namespace per firewall: the ipsets must exist for `-m set` to be accepted
        let lab = ScratchNs::new(prefix);
        for fw in &t.firewalls {
            if let Some(sets) = file(&out, &format!("{}.ipset", fw.name)) {
                lab.stdin("ipset restore -exist", sets);
            }
            let v4 = file(&out, &format!("{}.iptables", fw.name)).unwrap();
            lab.stdin("iptables-restore --test", v4);
            if let Some(v6) = file(&out, &format!("{}.ip6tables", fw.name)) {
                lab.stdin("ip6tables-restore --test", v6);
            }
        }
        // the dual-stack example must produce IPv6 files
        if example.starts_with("dns") {
            assert!(out.iter().any(|a| a.file.ends_with(".ip6tables")));
        }
    }
}

/// A bare namespace for syntax checks, removed on drop.
struct ScratchNs(String);

impl ScratchNs {
    fn new(name: &str) -> ScratchNs {
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", name])
            .output();
        let ok = std::process::Command::new("ip")
            .args(["netns", "add", name])
            .status()
            .unwrap();
        assert!(ok.success());
        ScratchNs(name.to_string())
    }
    fn stdin(&self, cmd: &str, input: &str) {
        use std::io::Write;
        let mut child = std::process::Command::new("ip")
            .args(["netns", "exec", &self.0, "sh", "-c", cmd])
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for ScratchNs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.0])
            .output();
    }
}

/// Loads the firewall rules of `target` into the lab's firewall namespaces.
fn load_rules(lab: &Lab, t: &Topology, p: &Plan, target: Target) {
    let out = files(t, p, target);
    for fw in &t.firewalls {
        let ns = lab.firewall_ns(&fw.name);
        let run = |cmd: &str, text: &str| {
            let o = lab.exec_stdin(ns, cmd, text);
            assert!(
                o.status.success(),
                "{}: {cmd}: {}",
                fw.name,
                String::from_utf8_lossy(&o.stderr)
            );
        };
        match target {
            Target::Nftables => run("nft -f -", file(&out, &format!("{}.nft", fw.name)).unwrap()),
            Target::Iptables => {
                if let Some(sets) = file(&out, &format!("{}.ipset", fw.name)) {
                    run("ipset restore -exist", sets);
                }
                run(
                    "iptables-restore",
                    file(&out, &format!("{}.iptables", fw.name)).unwrap(),
                );
                if let Some(v6) = file(&out, &format!("{}.ip6tables", fw.name)) {
                    run("ip6tables-restore", v6);
                }
            }
            _ => unreachable!("not a firewall target"),
        }
    }
}

/// Builds the lab, proves it routes with no rules loaded, loads the rules, and checks the plan.
fn enforce(example: &str, target: Target, prefix: &str) -> (usize, usize) {
    let (t, p) = load(example);
    let lab = Lab::build(&t, prefix);
    let (allowed, unplaceable) = flows::allowed_checks(&lab, &p);
    assert_eq!(unplaceable, 0, "every rule has a lab host at both ends");
    let denied = flows::denied_checks(&lab, &t, &p, &allowed);
    assert!(allowed.len() > 50, "{} allowed checks", allowed.len());
    assert!(denied.len() > 30, "{} denied checks", denied.len());

    // before any rule: the lab itself must carry every denied flow, so a drop later is the firewall's
    let open_lab: Vec<Check> = denied
        .iter()
        .map(|c| Check {
            expect_open: true,
            ..c.clone()
        })
        .collect();
    let broken = flows::run_all(&lab, &open_lab);
    assert!(
        broken.is_empty(),
        "without rules these flows should pass:\n{}",
        broken
            .iter()
            .map(|(c, v)| flows::describe(c, *v))
            .collect::<Vec<_>>()
            .join("\n")
    );

    load_rules(&lab, &t, &p, target);
    let mut checks = allowed.clone();
    checks.extend(denied.iter().cloned());
    let wrong = flows::run_all(&lab, &checks);
    assert!(
        wrong.is_empty(),
        "{} of {} checks disagree with the plan:\n{}",
        wrong.len(),
        checks.len(),
        wrong
            .iter()
            .map(|(c, v)| flows::describe(c, *v))
            .collect::<Vec<_>>()
            .join("\n")
    );
    eprintln!(
        "{example} {target}: {} allowed flows passed, {} flows outside the plan dropped",
        allowed.len(),
        denied.len()
    );
    (allowed.len(), denied.len())
}

#[test]
fn nftables_rules_enforce_the_plan_in_the_kernel() {
    let _guard = serialize();
    if !available(&["nft"]) {
        return;
    }
    enforce("reference.toml", Target::Nftables, "ppnft");
}

#[test]
fn iptables_rules_enforce_the_plan_in_the_kernel() {
    let _guard = serialize();
    if !available(&["iptables-restore", "ipset"]) {
        return;
    }
    enforce("reference.toml", Target::Iptables, "ppipt");
}

#[test]
fn a_missing_rule_shows_up_as_dropped_flows() {
    let _guard = serialize();
    if !available(&["nft"]) {
        return;
    }
    let (t, full) = load("reference.toml");
    // remove the remote users' SIP/TLS rule (internet -> Access Edge VIP 443) from what is loaded
    let mut sabotaged = full.clone();
    let victim = sabotaged
        .rules
        .iter()
        .position(|r| r.destination.role == "edge.access.vip" && r.ports.start == 443)
        .unwrap();
    let removed = sabotaged.rules.remove(victim);
    let lab = Lab::build(&t, "ppmiss");
    load_rules(&lab, &t, &sabotaged, Target::Nftables);
    let (allowed, _) = flows::allowed_checks(&lab, &full);
    let wrong = flows::run_all(&lab, &allowed);
    assert!(
        !wrong.is_empty(),
        "removing r{} must block its flow",
        removed.id
    );
    for (c, v) in &wrong {
        assert_eq!(*v, flows::Verdict::Dropped, "{}", flows::describe(c, *v));
        assert!(
            c.label.starts_with(&format!("r{} ", removed.id)),
            "{}",
            c.label
        );
    }
}
