//! `portplan plan`: the plan's rules as a table (text, CSV, Markdown) or JSON, with the optional
//! sections (flows no firewall carries, rows left out, doubtful rows).

use super::args::PlanArgs;
use super::output::out;
use super::{Failure, Project};
use anyhow::{Context, anyhow};
use portplan::plan;
use portplan::render::{self, Target};
use portplan::topology::named_report;
use portplan::view::plan::{
    Doubt, doubt_table, local_flow_table, planned_doubts, skipped_table, unplanned_table,
};
use portplan::view::table::Style;

pub fn run(args: PlanArgs) -> Result<(), Failure> {
    let Project { topology, plan } = Project::load(&args.topology)?;
    if let Some(name) = &args.firewall {
        plan::check_firewall(&topology, name).map_err(anyhow::Error::from)?;
    }
    let target = args.target();
    let mut text =
        render::render(&plan, &topology, target, &args.scope()).map_err(anyhow::Error::from)?;
    let doubts = planned_doubts(&plan, args.firewall.as_deref());
    // page requirements no rule carries (Edge A/V peers behind NAT): listed, never silently dropped
    let unplanned = portplan::topology::lint_sfb::unplanned(&topology, &plan);
    if target == Target::Json {
        if !doubts.is_empty() {
            text = with_doubts_json(&text, &doubts)?;
        }
        if !unplanned.is_empty() {
            text = with_json_key(&text, "unplanned", &unplanned)?;
        }
    } else {
        let style = args.format.style();
        if args.all {
            text.push_str(&local_flow_table(&plan).section("Flows that cross no firewall", style));
        }
        if args.explain {
            text.push_str(&skipped_table(&plan).section("Catalog rows not planned", style));
        }
        // a footer keyed by rule number; CSV keeps one table unless --explain asks for more
        if !doubts.is_empty() && (style != Style::Csv || args.explain) {
            text.push_str(&doubt_table(&doubts).section(
                "Rules from catalog rows the source documents leave in doubt",
                style,
            ));
        }
        if !unplanned.is_empty() && (style != Style::Csv || args.explain) {
            text.push_str(
                &unplanned_table(&unplanned)
                    .section("Requirements the plan carries no rule for", style),
            );
        }
    }
    out(&text)?;
    for finding in &unplanned {
        eprintln!("{:?}", named_report(finding));
    }
    // rows no firewall carries are missing from the tables above: say so and fail
    let missing = plan.path_findings();
    for finding in &missing {
        eprintln!("{:?}", named_report(finding));
    }
    super::findings_unless(missing.is_empty())
}

/// The plan JSON with a `doubts` array added as its last key (the rest of the text unchanged).
fn with_doubts_json(text: &str, doubts: &[Doubt]) -> Result<String, Failure> {
    #[derive(serde::Serialize)]
    struct Entry<'a> {
        row: String,
        rules: &'a [usize],
        doubt: &'a str,
    }
    let list: Vec<Entry> = doubts
        .iter()
        .map(|d| Entry {
            row: d.row.to_string(),
            rules: &d.rules,
            doubt: d.text,
        })
        .collect();
    with_json_key(text, "doubts", &list)
}

/// The JSON object `text` with `key: value` added as its last key (the rest of the text unchanged).
fn with_json_key<T: serde::Serialize + ?Sized>(
    text: &str,
    key: &str,
    value: &T,
) -> Result<String, Failure> {
    let list = serde_json::to_string_pretty(value)
        .context("encoding JSON")?
        .replace('\n', "\n  ");
    let body = text
        .trim_end()
        .strip_suffix('}')
        .ok_or_else(|| anyhow!("the plan JSON is not an object"))?
        .trim_end();
    Ok(format!("{body},\n  \"{key}\": {list}\n}}\n"))
}
