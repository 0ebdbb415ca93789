//! The generated firewall rules enforce the plan in the kernel: planned flows pass, the rest drop.

use crate::harness::flows::{self, Check};
use crate::harness::{Lab, lab_prerequisites};
use crate::{common, file, files, load};
use portplan::plan::Plan;
use portplan::render::Target;
use portplan::topology::Topology;

/// Loads the firewall rules of `target` into the lab's firewall namespaces.
pub fn load_rules(lab: &Lab, t: &Topology, p: &Plan, target: Target) {
    let out = files(t, p, target);
    for fw in &t.firewalls {
        let ns = lab.firewall_ns(&fw.name);
        let run = |cmd: &str, text: &str| {
            let o = lab.exec_stdin(ns, cmd, text);
            common::assert_ok(&o, format!("{}: {cmd}", fw.name));
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
/// Returns the counts of allowed and denied checks, and of allowed checks that cross a static NAT.
fn enforce(example: &str, target: Target, prefix: &str) -> (usize, usize, usize) {
    let (t, p) = load(example);
    let lab = Lab::build(&t, prefix);
    let (allowed, unplaceable) = flows::allowed_checks(&lab, &p);
    assert_eq!(unplaceable, 0, "every rule has a lab host at both ends");
    let denied = flows::denied_checks(&t, &p, &allowed);
    // at least one check per rule, and a sample outside the plan of comparable size
    assert!(
        allowed.len() >= p.rules.len(),
        "{} allowed checks for {} rules",
        allowed.len(),
        p.rules.len()
    );
    assert!(denied.len() > 20, "{} denied checks", denied.len());

    // before any rule: the lab itself must carry every denied flow, so a drop later is the firewall's
    let open_lab: Vec<Check> = denied
        .iter()
        .map(|c| Check {
            expect_open: true,
            ..c.clone()
        })
        .collect();
    if lab.has_nat() {
        lab.load_nat_only();
    }
    let broken = flows::run_all(&lab, &open_lab);
    if lab.has_nat() {
        lab.remove_nat_only();
    }
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
    let translated = allowed
        .iter()
        .filter(|c| lab.translate(&c.src_ns, c.src, &c.dst_ns, c.dst) != (c.dst, c.src))
        .count();
    (allowed.len(), denied.len(), translated)
}

#[test]
fn nftables_rules_enforce_the_plan_in_the_kernel() {
    let Some(_guard) = lab_prerequisites(&["nft"]) else {
        return;
    };
    enforce("reference.toml", Target::Nftables, "ppnft");
}

#[test]
fn iptables_rules_enforce_the_plan_in_the_kernel() {
    let Some(_guard) = lab_prerequisites(&["iptables-restore", "ipset"]) else {
        return;
    };
    enforce("reference.toml", Target::Iptables, "ppipt");
}

#[test]
fn nat_edge_nftables_rules_enforce_the_plan_and_translate() {
    let Some(_guard) = lab_prerequisites(&["nft"]) else {
        return;
    };
    let (_, _, translated) = enforce("edge-single-nat.toml", Target::Nftables, "ppnatn");
    // in: remote clients, partners and the internet dial the public addresses; out: the Edge's and
    // the reverse proxy's own connections leave with them
    assert!(translated >= 15, "{translated} checks crossed the NAT");
}

#[test]
fn without_its_nat_chains_the_natted_edge_is_unreachable_from_outside() {
    let Some(_guard) = lab_prerequisites(&["nft"]) else {
        return;
    };
    let (t, p) = load("edge-single-nat.toml");
    let lab = Lab::build(&t, "ppnoxl");
    let out = files(&t, &p, Target::Nftables);
    for fw in &t.firewalls {
        let text = file(&out, &format!("{}.nft", fw.name)).unwrap();
        // the same filter rules, the translation cut out
        let filtered = match text.find("\n\tchain prerouting {") {
            Some(at) => format!("{}}}\n", &text[..at]),
            None => text.to_string(),
        };
        let o = lab.exec_stdin(lab.firewall_ns(&fw.name), "nft -f -", &filtered);
        common::assert_ok(&o, &fw.name);
    }
    let (allowed, _) = flows::allowed_checks(&lab, &p);
    let crossing: Vec<&Check> = allowed
        .iter()
        .filter(|c| lab.translate(&c.src_ns, c.src, &c.dst_ns, c.dst) != (c.dst, c.src))
        .collect();
    assert!(!crossing.is_empty());
    for c in &crossing {
        let v = flows::run(&lab, c, std::time::Duration::from_millis(600));
        assert_ne!(v, flows::Verdict::Open, "{}", flows::describe(c, v));
    }
    // the flows that cross no NAT still pass
    let plain: Vec<Check> = allowed
        .iter()
        .filter(|c| lab.translate(&c.src_ns, c.src, &c.dst_ns, c.dst) == (c.dst, c.src))
        .cloned()
        .collect();
    let wrong = flows::run_all(&lab, &plain);
    assert!(wrong.is_empty(), "{:?}", wrong.first());
}

#[test]
fn the_other_edge_variants_enforce_their_plans() {
    let Some(_guard) = lab_prerequisites(&["nft"]) else {
        return;
    };
    // the smallest design: one Edge with public addresses, no Director
    enforce("edge-single-public.toml", Target::Nftables, "ppsgl");
    // public addresses, three firewalls and the internal server tables between segments
    enforce("edge-dns-public.toml", Target::Nftables, "ppdnsp");
    // two Edge servers behind static NAT
    let (_, _, translated) = enforce("edge-dns-nat.toml", Target::Nftables, "ppdnsn");
    assert!(translated > 0);
}

#[test]
fn nat_edge_iptables_rules_enforce_the_plan_and_translate() {
    let Some(_guard) = lab_prerequisites(&["iptables-restore", "ipset"]) else {
        return;
    };
    enforce("edge-single-nat.toml", Target::Iptables, "ppnati");
}

#[test]
fn a_missing_rule_shows_up_as_dropped_flows() {
    let Some(_guard) = lab_prerequisites(&["nft"]) else {
        return;
    };
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

#[test]
fn hybrid_edge_talks_to_microsoft_365_through_the_firewall() {
    let Some(_guard) = lab_prerequisites(&["nft", "iptables-restore", "ipset"]) else {
        return;
    };
    // Skype for Business Server 2019 with [hybrid]: the internet side holds hosts in the Microsoft
    // 365 ranges of the built-in endpoint snapshot, and only the hybrid rows let them in or out
    for (target, prefix) in [(Target::Nftables, "pphyn"), (Target::Iptables, "pphyi")] {
        let (t, p) = load("sfb2019-hybrid.toml");
        let hybrid = p
            .rules
            .iter()
            .filter(|r| r.rows.iter().any(|row| row.scenario == "hybrid"))
            .count();
        assert_eq!(hybrid, 7, "the hybrid page's seven rows are planned");
        assert!(t.hybrid.is_some());
        let (allowed, denied, _) = enforce("sfb2019-hybrid.toml", target, prefix);
        assert!(allowed >= p.rules.len() && denied > 20);
    }
}
