//! Property tests: reading and planning never panic, whatever the input, and plans keep their
//! invariants on every topology that validates.

use portplan::plan;
use portplan::render::{self, Scope, Target};
use portplan::topology::{Topology, lint};
use proptest::prelude::*;

mod common;
use common::topogen;

const REFERENCE: &str = include_str!("../examples/reference.toml");

/// Everything downstream of a parsed topology must run without panicking.
fn exercise(text: &str) {
    if let Ok(t) = Topology::parse("p.toml", text) {
        let _ = lint::lint(&t);
        let p = plan::compile(&t);
        for rule in &p.rules {
            assert!(t.firewall(&rule.firewall).is_some());
            assert_ne!(rule.ingress_zone, rule.egress_zone);
            assert!(!rule.source.members.is_empty());
            assert!(!rule.destination.members.is_empty());
            assert!(!rule.rows.is_empty());
        }
        for target in Target::ALL {
            match render::render(&p, &t, *target, &Scope::All) {
                Ok(_) => {}
                // load balancer targets refuse a topology that breaks the design: an answer, not a bug
                Err(render::RenderError::Refused { findings, .. }) => assert!(!findings.is_empty()),
                // a target with nothing to serve says so (firewall targets only without firewalls)
                Err(render::RenderError::Nothing { .. })
                    if t.firewalls.is_empty()
                        || !matches!(
                            target,
                            Target::Nftables | Target::Iptables | Target::Asa | Target::Aerleon
                        ) => {}
                Err(other) => panic!("{target}: {other}"),
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn parsing_arbitrary_text_never_panics(text in "\\PC{0,400}") {
        exercise(&text);
    }

    #[test]
    fn mutated_reference_never_panics(cut in 0usize..REFERENCE.len(), len in 0usize..40, insert in "[ -~\n]{0,12}") {
        let mut start = cut;
        while !REFERENCE.is_char_boundary(start) { start -= 1; }
        let mut end = (start + len).min(REFERENCE.len());
        while !REFERENCE.is_char_boundary(end) { end -= 1; }
        let text = format!("{}{}{}", &REFERENCE[..start], insert, &REFERENCE[end..]);
        exercise(&text);
    }

    #[test]
    fn generated_topologies_plan_without_panicking(seed in any::<u64>()) {
        exercise(&topogen::generate(seed).text);
    }

    #[test]
    fn mutated_generated_topologies_never_panic(seed in any::<u64>(), at in any::<usize>(), len in 0usize..40, insert in "[ -~\n]{0,12}") {
        let text = topogen::generate(seed).text;
        let mut start = at % text.len();
        while !text.is_char_boundary(start) { start -= 1; }
        let mut end = (start + len).min(text.len());
        while !text.is_char_boundary(end) { end -= 1; }
        exercise(&format!("{}{}{}", &text[..start], insert, &text[end..]));
    }
}

/// Draws the generator makes for the checks below.
const DRAWS: u64 = 300;

#[test]
fn generated_topologies_pass_check() {
    // the generator draws deployments a user could write: `check` must accept (nearly) all of them,
    // or the random namespace test would mostly exercise nothing
    let mut reasons: std::collections::BTreeMap<String, usize> = Default::default();
    let mut accepted = 0;
    let mut with_rules = 0;
    for seed in 1..=DRAWS {
        match topogen::check(&topogen::generate(seed).text) {
            Ok((_, p)) => {
                accepted += 1;
                with_rules += usize::from(!p.rules.is_empty());
            }
            Err(errors) => {
                for e in errors {
                    let code = e.split(':').next().unwrap_or_default().to_string();
                    *reasons.entry(code).or_default() += 1;
                    eprintln!("seed {seed}: {e}");
                }
            }
        }
    }
    eprintln!(
        "{accepted}/{DRAWS} generated topologies pass check, {with_rules} have rules; rejected for {reasons:?}"
    );
    assert!(
        accepted * 100 >= DRAWS as usize * 95,
        "only {accepted}/{DRAWS} pass check: {reasons:?}"
    );
    assert!(
        with_rules * 100 >= accepted * 95,
        "only {with_rules}/{accepted} have rules"
    );
}

#[test]
fn generated_topologies_cover_every_variant() {
    let mut traits: std::collections::BTreeSet<String> = Default::default();
    let mut scenarios: std::collections::BTreeSet<&str> = Default::default();
    let (mut longest_interface, mut longest_name) = (0, 0);
    let mut separators: std::collections::BTreeSet<char> = Default::default();
    for seed in 1..=DRAWS {
        let g = topogen::generate(seed);
        traits.extend(g.traits.iter().cloned());
        let Ok((t, _)) = topogen::check(&g.text) else {
            continue;
        };
        scenarios.extend(t.scenarios());
        for fw in &t.firewalls {
            longest_name = longest_name.max(fw.name.len());
            for i in &fw.interfaces {
                longest_interface = longest_interface.max(i.name.len());
                separators.extend(i.name.chars().filter(|c| "-_.".contains(*c)));
            }
        }
        for (_, s) in t.servers() {
            longest_name = longest_name.max(s.name.len());
        }
    }
    for expected in [
        "edge-single-public",
        "edge-single-nat",
        "edge-dns-public",
        "edge-dns-nat",
        "edge-hlb-public",
        "no-edge",
        "director-absent",
        "director-none",
        "director-hlb",
        "director-dns-hlb",
        "reverse-proxy",
        "reverse-proxy-own-zone",
        "office-web-apps",
        "mediation",
        "persistent-chat",
        "pstn-gateway",
        "survivable-branch",
        "internal-servers",
        "segmented-internal",
        "firewalls-2",
        "firewalls-3",
        "firewalls-4",
        "dual-stack",
        "dual-stack-networks-only",
        "narrow-any",
        "feature-federation",
        "feature-ocs2007-federation",
        "feature-xmpp",
        "feature-public-im",
        "feature-office-web-apps",
        "feature-mobility-autodiscover-http",
        "feature-collocated-mediation",
        "feature-sip-tcp-5060",
    ] {
        assert!(traits.contains(expected), "no draw has {expected}");
    }
    for expected in [
        "edge-single-public",
        "edge-single-nat",
        "edge-dns-public",
        "edge-dns-nat",
        "edge-consolidated-hlb",
        "director-single",
        "director-pool-hlb",
        "director-dns-hlb",
        "reverse-proxy",
        "internal-servers",
        "public-im",
    ] {
        assert!(
            scenarios.contains(expected),
            "no accepted draw plans {expected}: {scenarios:?}"
        );
    }
    assert_eq!(longest_interface, portplan::topology::names::MAX_INTERFACE);
    assert_eq!(longest_name, portplan::topology::names::MAX_NAME);
    assert_eq!(separators.len(), 3, "{separators:?}");
}

#[test]
fn the_generator_is_deterministic_by_seed() {
    for seed in [0, 1, 2, 99, u64::MAX] {
        assert_eq!(topogen::generate(seed).text, topogen::generate(seed).text);
    }
    assert_ne!(topogen::generate(1).text, topogen::generate(2).text);
}
