//! The plan itself as a render target: its rules as a table (text, CSV, Markdown) or the whole
//! plan as JSON, one file for the plan, with the rules the scope selects.

use super::contract::{Piece, RenderError, Renderer, Subject, Unit};
use crate::plan::{Flow, Plan, Rule};
use crate::topology::Topology;
use crate::view::plan::plan_table;
use crate::view::table::Table;
use serde::Serialize;

/// The plan's rules as one table, written by `write`.
pub(super) struct TableFile {
    name: &'static str,
    suffix: &'static str,
    write: fn(&Table) -> String,
}

pub(super) static TEXT: TableFile = TableFile {
    name: "table",
    suffix: ".txt",
    write: Table::to_text,
};
pub(super) static CSV: TableFile = TableFile {
    name: "csv",
    suffix: ".csv",
    write: Table::to_csv,
};
pub(super) static MARKDOWN: TableFile = TableFile {
    name: "markdown",
    suffix: ".md",
    write: Table::to_markdown,
};

/// Every scope narrows the plan's rules; none is refused.
const ANY_SCOPE: &str = "no scope, --firewall NAME or --host NAME";
const EMPTY: &str = "the plan is empty";

/// The rules of the plan subject (the only subject a plan file has).
fn rules<'a>(subject: &'a Subject<'_>) -> &'a [&'a Rule] {
    match subject {
        Subject::Plan { rules } => rules,
        _ => &[],
    }
}

impl Renderer for TableFile {
    fn name(&self) -> &'static str {
        self.name
    }
    fn units(&self) -> &'static [Unit] {
        &[Unit::Plan]
    }
    fn suffix(&self, _unit: Unit) -> &'static str {
        self.suffix
    }
    fn scope_hint(&self) -> &'static str {
        ANY_SCOPE
    }
    fn nothing_because(&self) -> &'static str {
        EMPTY
    }
    fn render(
        &self,
        _plan: &Plan,
        _t: &Topology,
        subject: &Subject<'_>,
        _selected: &[Subject<'_>],
    ) -> Result<Vec<Piece>, RenderError> {
        let table = plan_table(rules(subject).iter().copied());
        Ok(vec![Piece::main((self.write)(&table))])
    }
}

pub(super) struct Json;

#[derive(Serialize)]
struct PlanJson<'a> {
    topology: &'a str,
    scenarios: &'a [String],
    features: &'a [crate::catalog::Feature],
    rules: &'a [&'a Rule],
    local_flows: Vec<&'a Flow>,
    unrouted_flows: Vec<&'a Flow>,
    skipped: &'a [crate::plan::Skipped],
}

impl Renderer for Json {
    fn name(&self) -> &'static str {
        "json"
    }
    fn units(&self) -> &'static [Unit] {
        &[Unit::Plan]
    }
    fn suffix(&self, _unit: Unit) -> &'static str {
        ".json"
    }
    fn scope_hint(&self) -> &'static str {
        ANY_SCOPE
    }
    fn nothing_because(&self) -> &'static str {
        EMPTY
    }
    fn render(
        &self,
        plan: &Plan,
        _t: &Topology,
        subject: &Subject<'_>,
        _selected: &[Subject<'_>],
    ) -> Result<Vec<Piece>, RenderError> {
        let doc = PlanJson {
            topology: &plan.topology,
            scenarios: &plan.scenarios,
            features: &plan.features,
            rules: rules(subject),
            local_flows: plan
                .flows
                .iter()
                .filter(|f| f.path.is_empty() && f.routed)
                .collect(),
            unrouted_flows: plan.unrouted_flows().collect(),
            skipped: &plan.skipped,
        };
        Ok(vec![Piece::main(
            serde_json::to_string_pretty(&doc)? + "\n",
        )])
    }
}
