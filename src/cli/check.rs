//! `portplan check`: validation, lint and firewall paths of a topology, as text or JSON.

use super::args::CheckArgs;
use super::output::{Format, TOPOLOGY_LIMIT, out, out_json, read_limited};
use super::{Failure, Project, load};
use anyhow::anyhow;
use portplan::plan::Plan;
use portplan::topology::{self, Finding, Topology, named_report};
use portplan::view;

pub fn run(args: CheckArgs) -> Result<(), Failure> {
    // with --format json an invalid topology is a JSON answer too (exit 2), not only stderr
    let topology = match (args.format, &args.topology.file) {
        (Format::Json, Some(path)) => {
            let text = read_limited(path, TOPOLOGY_LIMIT, "topology file")?;
            match Topology::parse(&path.display().to_string(), &text) {
                Ok(topology) => topology,
                Err(err) => {
                    #[derive(serde::Serialize)]
                    struct Invalid<'a> {
                        topology: &'a str,
                        valid: bool,
                        findings: &'a [Finding],
                    }
                    out_json(&Invalid {
                        topology: &err.file,
                        valid: false,
                        findings: &err.problems,
                    })?;
                    return Err(Failure::Input(Some(anyhow!("{err}"))));
                }
            }
        }
        _ => load(&args.topology)?,
    };
    let Project { topology, plan } = Project::of(topology);
    let mut report = topology::lint::lint_with(
        &topology,
        portplan::catalog::Catalog::builtin(),
        portplan::endpoints::Date::today(),
    );
    report.findings.extend(plan.path_findings());
    report.findings.extend(doubt_finding(&plan, &topology));
    if args.format == Format::Json {
        #[derive(serde::Serialize)]
        struct CheckJson<'a> {
            topology: &'a str,
            valid: bool,
            scenarios: &'a [String],
            findings: &'a [Finding],
            public_addresses: &'a [topology::lint::PublicAddressCount],
            rules: usize,
            unrouted_flows: usize,
        }
        out_json(&CheckJson {
            topology: &topology.name,
            valid: true,
            scenarios: &plan.scenarios,
            findings: &report.findings,
            public_addresses: &report.public_addresses,
            rules: plan.rules.len(),
            unrouted_flows: plan.unrouted_flows().count(),
        })?;
    } else {
        for finding in &report.findings {
            eprintln!("{:?}", named_report(finding));
        }
        out(&view::check::summary(&topology, &plan, &report.findings))?;
    }
    super::findings_unless(!report.has_errors())
}

/// A note listing the planned rows whose source document looks inconsistent.
fn doubt_finding(plan: &Plan, t: &Topology) -> Option<Finding> {
    let doubts = view::plan::planned_doubts(plan, None);
    if doubts.is_empty() {
        return None;
    }
    let rows: Vec<String> = doubts.iter().map(|d| d.row.to_string()).collect();
    Some(
        Finding::info(
            topology::Code::CatalogDoubt,
            format!(
                "{} planned catalog row(s) are encoded as the source document has them, although it looks inconsistent there: {}",
                doubts.len(),
                rows.join(", ")
            ),
        )
        .help("`portplan plan` lists the rules made from them and each doubt; check those ports by hand")
        .at(&t.source, None),
    )
}
