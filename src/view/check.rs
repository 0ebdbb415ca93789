//! The one-line summary of `portplan check`.

use crate::plan::Plan;
use crate::topology::{Finding, Severity, Topology};

/// The topology's scenarios, its rule and firewall counts, and its findings by severity.
pub fn summary(topology: &Topology, plan: &Plan, findings: &[Finding]) -> String {
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let unrouted = plan.unrouted_flows().count();
    format!(
        "{}: scenarios {}; {} rules on {} firewall(s); {} error(s), {} warning(s), {} note(s){}\n",
        topology.source.name,
        plan.scenarios.join(", "),
        plan.rules.len(),
        topology.firewalls.len(),
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info),
        if unrouted > 0 {
            format!("; {unrouted} flow(s) have no firewall path (see the errors)")
        } else {
            String::new()
        }
    )
}
