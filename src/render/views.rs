//! The plan tables and the plan JSON as render targets (`table`, `csv`, `markdown`, `json`).

use super::{Artifact, RenderError, Renderer, Scope, Target, rules_in_scope};
use crate::plan::{Flow, Plan, Rule};
use crate::topology::Topology;
use crate::view::plan::plan_table;
use serde::Serialize;

pub(super) struct TableRenderer(pub Target);

impl Renderer for TableRenderer {
    fn name(&self) -> &'static str {
        match self.0 {
            Target::Csv => "csv",
            Target::Markdown => "markdown",
            _ => "table",
        }
    }
    fn render(
        &self,
        plan: &Plan,
        _t: &Topology,
        scope: &Scope,
    ) -> Result<Vec<Artifact>, RenderError> {
        let table = plan_table(rules_in_scope(plan, scope));
        let (file, text) = match self.0 {
            Target::Csv => ("plan.csv", table.to_csv()),
            Target::Markdown => ("plan.md", table.to_markdown()),
            _ => ("plan.txt", table.to_text()),
        };
        Ok(vec![Artifact {
            file: file.into(),
            text,
        }])
    }
}

pub(super) struct JsonRenderer;

#[derive(Serialize)]
struct PlanJson<'a> {
    topology: &'a str,
    scenarios: &'a [String],
    features: &'a [crate::catalog::Feature],
    rules: Vec<&'a Rule>,
    local_flows: Vec<&'a Flow>,
    unrouted_flows: Vec<&'a Flow>,
    skipped: &'a [crate::plan::Skipped],
}

impl Renderer for JsonRenderer {
    fn name(&self) -> &'static str {
        "json"
    }
    fn render(
        &self,
        plan: &Plan,
        _t: &Topology,
        scope: &Scope,
    ) -> Result<Vec<Artifact>, RenderError> {
        let doc = PlanJson {
            topology: &plan.topology,
            scenarios: &plan.scenarios,
            features: &plan.features,
            rules: rules_in_scope(plan, scope).collect(),
            local_flows: plan
                .flows
                .iter()
                .filter(|f| f.path.is_empty() && f.routed)
                .collect(),
            unrouted_flows: plan.unrouted_flows().collect(),
            skipped: &plan.skipped,
        };
        Ok(vec![Artifact {
            file: "plan.json".into(),
            text: serde_json::to_string_pretty(&doc)? + "\n",
        }])
    }
}
