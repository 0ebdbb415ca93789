//! Random topologies in the kernel (issue 14: safe, correct output for any topology a user writes).
//!
//! For each seed the generator (tests/common/topogen.rs) draws a deployment; the ones `check` accepts
//! are built as a lab, and the nftables rules and then the iptables(+ipset) rules are loaded into its
//! firewalls. Real TCP connects and UDP echoes prove that every planned rule passes (on its first
//! port, and on its last one for a range) and that a sample of flows outside the plan is dropped:
//! planned flows reversed, one port past either end, the other transport, the other address family.
//! Before any rule is loaded the same unplanned flows must pass, so each drop is the firewall's.
//!
//! `PORTPLAN_RANDOM_TOPOLOGIES=N` runs N seeds (50 by default), `PORTPLAN_RANDOM_SEED=S` replays one.
//! A failure names the seed, prints the topology and every flow the kernel disagreed on.

use crate::common::{Rng, topogen};
use crate::enforce::load_rules;
use crate::harness::flows::{self, Check};
use crate::harness::{Lab, lab_prerequisites};
use portplan::plan::Plan;
use portplan::render::Target;
use portplan::topology::Topology;
use std::time::Instant;

/// Seeds run when nothing else is asked for (CI runs them all).
const SEEDS: usize = 50;
/// Unplanned flows sampled per topology: one parallel batch, so one timeout per target. Most are
/// planned flows changed a little, the rest run between the zones' bystanders.
const UNPLANNED: usize = 64;
const BYSTANDERS: usize = 16;

#[derive(Default)]
struct Totals {
    tried: usize,
    accepted: usize,
    run: usize,
    planned: usize,
    unplanned: usize,
    rejected: Vec<(u64, Vec<String>)>,
    failures: Vec<String>,
}

#[test]
fn random_topologies_enforce_their_plans_in_nftables_and_iptables() {
    let Some(_guard) =
        lab_prerequisites(&["nft", "iptables-restore", "ip6tables-restore", "ipset"])
    else {
        return;
    };
    let started = Instant::now();
    let mut totals = Totals::default();
    for seed in topogen::seeds(SEEDS) {
        totals.tried += 1;
        let generated = topogen::generate(seed);
        let (t, p) = match topogen::check(&generated.text) {
            Ok(ok) => ok,
            Err(errors) => {
                totals.rejected.push((seed, errors));
                continue;
            }
        };
        totals.accepted += 1;
        let one = Instant::now();
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_seed(seed, &t, &p)));
        let problems = match outcome {
            Ok(Ok((planned, unplanned))) => {
                totals.run += 1;
                totals.planned += planned;
                totals.unplanned += unplanned;
                eprintln!(
                    "seed {seed}: {} rules on {} firewalls, {planned} planned flows passed, {unplanned} unplanned dropped ({:.1} s) {}",
                    p.rules.len(),
                    t.firewalls.len(),
                    one.elapsed().as_secs_f64(),
                    generated.traits.join(" ")
                );
                continue;
            }
            Ok(Err(problems)) => problems,
            Err(panic) => panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panicked".into()),
        };
        let report = format!(
            "seed {seed} (replay: PORTPLAN_RANDOM_SEED={seed} cargo test --test netns random -- --nocapture):\n{problems}\n--- topology of seed {seed} ---\n{}--- end of seed {seed} ---",
            generated.text
        );
        eprintln!("{report}");
        totals.failures.push(report);
    }
    for (seed, errors) in &totals.rejected {
        eprintln!("seed {seed}: check refused the draw: {}", errors.join("; "));
    }
    eprintln!(
        "random topologies: {} tried, {} accepted by check, {} run in the kernel; {} planned flows passed, {} unplanned flows dropped (each under nftables and iptables); {} failed; {:.1} s",
        totals.tried,
        totals.accepted,
        totals.run,
        totals.planned,
        totals.unplanned,
        totals.failures.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        totals.failures.is_empty(),
        "{} of {} random topologies disagree with the kernel:\n{}",
        totals.failures.len(),
        totals.accepted,
        totals.failures.join("\n")
    );
    // a generator whose draws `check` mostly refuses would test nothing
    assert!(
        totals.accepted * 10 >= totals.tried * 9,
        "check refused {} of {} draws",
        totals.tried - totals.accepted,
        totals.tried
    );
}

/// Builds one lab, then checks both firewall targets in it. `Err` lists what disagreed.
fn run_seed(seed: u64, t: &Topology, p: &Plan) -> Result<(usize, usize), String> {
    let lab = Lab::build(t, "pprnd");
    let (planned, unplaceable) = flows::rule_checks(&lab, p);
    if unplaceable > 0 {
        return Err(format!(
            "the lab has no host for {unplaceable} planned flow end(s) (a harness gap)"
        ));
    }
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut changed = flows::denied_checks(t, p, &planned);
    changed.extend(other_family(&lab, t, p, &planned));
    let mut bystanders = bystanders(&lab, t, p, &mut rng);
    // a sample, the same for the same seed, with one destination socket once
    shuffle(&mut changed, &mut rng);
    shuffle(&mut bystanders, &mut rng);
    bystanders.truncate(BYSTANDERS);
    let mut unplanned = bystanders;
    unplanned.extend(changed);
    let mut seen = std::collections::BTreeSet::new();
    unplanned.retain(|c| seen.insert((c.dst, c.port, c.transport)));
    unplanned.truncate(UNPLANNED);

    // before any rule (static NAT only): the lab carries every flow, the planned ones and those
    // the rules must drop, so what fails later is the rules' doing
    let open: Vec<Check> = planned
        .iter()
        .chain(&unplanned)
        .map(|c| Check {
            expect_open: true,
            ..c.clone()
        })
        .collect();
    if lab.has_nat() {
        lab.load_nat_only();
    }
    let broken = flows::run_all_batched(&lab, &open, UNPLANNED);
    if lab.has_nat() {
        lab.remove_nat_only();
    }
    // what passed here must not ride on a tracked connection into the checks with rules
    lab.flush_conntrack();
    if !broken.is_empty() {
        return Err(format!(
            "without rules the lab does not carry these flows (a harness gap):\n{}",
            describe(&broken)
        ));
    }

    let mut checks = planned.clone();
    checks.extend(unplanned.iter().cloned());
    let mut problems = Vec::new();
    for target in [Target::Nftables, Target::Iptables] {
        load_rules(&lab, t, p, target);
        let wrong = flows::run_all_batched(&lab, &checks, UNPLANNED);
        if !wrong.is_empty() {
            problems.push(format!(
                "{target}: {} of {} flows disagree with the plan:\n{}",
                wrong.len(),
                checks.len(),
                describe(&wrong)
            ));
        }
        if target == Target::Nftables {
            for fw in &t.firewalls {
                lab.exec_ok(
                    lab.firewall_ns(&fw.name),
                    &["nft", "delete", "table", "inet", "portplan"],
                );
            }
            lab.flush_conntrack();
        }
    }
    if problems.is_empty() {
        Ok((planned.len(), unplanned.len()))
    } else {
        Err(problems.join("\n"))
    }
}

/// Each planned flow between the same two hosts in the other address family, where both have an
/// address of it in the same zone and the plan allows nothing there.
fn other_family(lab: &Lab, t: &Topology, p: &Plan, planned: &[Check]) -> Vec<Check> {
    let other = |ns: &str, ip: std::net::IpAddr| {
        let zone = flows::zone_of(t, ip);
        lab.nodes
            .iter()
            .find(|n| n.ns == ns)
            .and_then(|n| {
                n.addresses
                    .iter()
                    .find(|a| a.is_ipv4() != ip.is_ipv4() && flows::zone_of(t, **a) == zone)
            })
            .copied()
    };
    planned
        .iter()
        .filter_map(|c| {
            let (src, dst) = (other(&c.src_ns, c.src)?, other(&c.dst_ns, c.dst)?);
            let allowed = flows::plan_allows(t, p, src, dst, c.transport, c.port);
            (!allowed).then(|| Check {
                label: format!(
                    "{} but {}",
                    c.label,
                    if src.is_ipv4() { "IPv4" } else { "IPv6" }
                ),
                src,
                dst,
                expect_open: false,
                ..c.clone()
            })
        })
        .collect()
}

/// Flows between the clients that stand for whole zones, in each family both have, on a port no
/// rule opens for them: traffic no catalog row is about must meet the default drop.
fn bystanders(lab: &Lab, t: &Topology, p: &Plan, rng: &mut Rng) -> Vec<Check> {
    let router = portplan::plan::Router::new(t);
    let clients: Vec<&crate::harness::Node> = lab
        .nodes
        .iter()
        .filter(|n| n.name.starts_with("any@"))
        .collect();
    let mut out = Vec::new();
    for a in &clients {
        for b in &clients {
            let (za, zb) = (&a.name["any@".len()..], &b.name["any@".len()..]);
            if za == zb || router.path(za, zb).is_none() {
                continue;
            }
            for src in &a.addresses {
                let Some(dst) = b.addresses.iter().find(|d| d.is_ipv4() == src.is_ipv4()) else {
                    continue;
                };
                let transport = *rng.pick(&[
                    portplan::catalog::Transport::Tcp,
                    portplan::catalog::Transport::Udp,
                ]);
                let port = 1 + rng.below(65535) as u16;
                if !flows::plan_allows(t, p, *src, *dst, transport, port) {
                    out.push(Check {
                        label: format!("bystanders {za} -> {zb}"),
                        src_ns: a.ns.clone(),
                        src: *src,
                        dst_ns: b.ns.clone(),
                        dst: *dst,
                        transport,
                        port,
                        expect_open: false,
                    });
                }
            }
        }
    }
    out
}

fn shuffle<T>(items: &mut [T], rng: &mut Rng) {
    for i in (1..items.len()).rev() {
        items.swap(i, rng.below(i + 1));
    }
}

fn describe(wrong: &[(Check, flows::Verdict)]) -> String {
    wrong
        .iter()
        .map(|(c, v)| {
            format!(
                "  {} [{} -> {}]",
                flows::describe(c, *v),
                c.src_ns,
                c.dst_ns
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
