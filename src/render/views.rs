//! Tabular and JSON views of the catalog and the plan.

use super::tabular::Table;
use super::{RenderError, Scope, rules_in_scope};
use crate::catalog::{Catalog, Row, RowId};
use crate::plan::{Flow, Group, Plan, Rule};
use serde::Serialize;

/// The catalog as a table, optionally one scenario only.
pub fn catalog_table(catalog: &Catalog, scenario: Option<&str>) -> Table {
    let mut t = Table::new(&[
        "scenario",
        "table",
        "#",
        "service",
        "transport",
        "ports",
        "source",
        "destination",
        "direction",
        "condition",
        "reference",
        "note",
    ]);
    for (id, row) in catalog.rows_with_ids() {
        if scenario.is_some_and(|s| s != row.scenario) {
            continue;
        }
        t.push(vec![
            row.scenario.clone(),
            row.table.clone(),
            id.index.to_string(),
            row.service.clone(),
            row.transport.to_string(),
            row.ports.to_string(),
            endpoint_text(row.source.as_str(), &row.narrow_source),
            endpoint_text(row.destination.as_str(), &row.narrow_destination),
            row.direction.as_str().to_string(),
            row.condition.map(|c| c.to_string()).unwrap_or_default(),
            row.reference.clone(),
            row.explanation(),
        ]);
    }
    t
}

/// One line per scenario: id, subject, what it covers, its tables with row counts, and its sources.
pub fn scenario_table(catalog: &Catalog) -> Table {
    let mut t = Table::new(&[
        "scenario",
        "subject",
        "versions",
        "title",
        "tables (rows)",
        "reference",
        "sources",
    ]);
    for s in &catalog.scenarios {
        let tables: Vec<String> = catalog
            .tables(&s.id)
            .into_iter()
            .map(|table| {
                let n = catalog
                    .rows
                    .iter()
                    .filter(|r| r.scenario == s.id && r.table == table)
                    .count();
                format!("{table} ({n})")
            })
            .collect();
        t.push(vec![
            s.id.clone(),
            s.subject.to_string(),
            s.versions
                .iter()
                .map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            s.title.clone(),
            tables.join(", "),
            s.reference.clone(),
            s.sources.join("; "),
        ]);
    }
    t
}

fn endpoint_text(role: &str, narrow: &[crate::catalog::Role]) -> String {
    if narrow.is_empty() {
        role.to_string()
    } else {
        let n: Vec<&str> = narrow.iter().map(|r| r.as_str()).collect();
        format!("{role} (or {})", n.join(", "))
    }
}

/// The JSON shape of one catalog row (`portplan catalog --format json`).
#[derive(Serialize)]
pub struct CatalogRowJson<'a> {
    pub id: String,
    #[serde(flatten)]
    pub row: &'a Row,
}

/// Catalog rows as JSON objects.
pub fn catalog_json(catalog: &Catalog, scenario: Option<&str>) -> Result<String, RenderError> {
    let rows: Vec<CatalogRowJson> = catalog
        .rows_with_ids()
        .filter(|(_, row)| scenario.is_none_or(|s| s == row.scenario))
        .map(|(id, row)| CatalogRowJson {
            id: id.to_string(),
            row,
        })
        .collect();
    Ok(serde_json::to_string_pretty(&rows)? + "\n")
}

/// An address as people write it: a host without `/32` or `/128`, a network with its prefix.
pub fn net_text(net: &ipnet::IpNet) -> String {
    if net.prefix_len() == net.max_prefix_len() {
        net.addr().to_string()
    } else {
        net.to_string()
    }
}

/// A group as one cell: its role, then its addresses.
pub fn group_text(g: &Group) -> String {
    let nets: Vec<String> = g
        .members
        .iter()
        .map(|m| match m.public {
            Some(public) => format!("{} (NAT {public})", net_text(&m.net)),
            None => net_text(&m.net),
        })
        .collect();
    format!("{}: {}", g.role, nets.join(" "))
}

fn rule_cells(r: &Rule) -> Vec<String> {
    vec![
        r.tag(),
        r.firewall.clone(),
        format!("{} -> {}", r.ingress_interface, r.egress_interface),
        r.family.to_string(),
        group_text(&r.source),
        group_text(&r.destination),
        r.transport.to_string(),
        r.ports.to_string(),
        r.service.clone(),
        r.rows_text(),
        r.features_text(),
    ]
}

const RULE_HEADERS: [&str; 11] = [
    "rule",
    "firewall",
    "in -> out",
    "family",
    "source",
    "destination",
    "proto",
    "ports",
    "service",
    "catalog rows",
    "feature",
];

/// The plan's rules as a table.
pub fn plan_table(plan: &Plan, scope: &Scope) -> Table {
    rule_table(rules_in_scope(plan, scope))
}

/// Rules as a table, in the order given.
pub fn rule_table<'a>(rules: impl IntoIterator<Item = &'a Rule>) -> Table {
    let mut t = Table::new(&RULE_HEADERS);
    for r in rules {
        t.push(rule_cells(r));
    }
    t
}

/// Flows that cross no firewall (same zone) or that no firewall path joins.
pub fn local_flow_table(plan: &Plan) -> Table {
    let mut t = Table::new(&[
        "zone(s)",
        "source",
        "destination",
        "proto",
        "ports",
        "service",
        "catalog rows",
        "note",
    ]);
    for f in plan.flows.iter().filter(|f| f.path.is_empty()) {
        t.push(flow_cells(f));
    }
    t
}

fn flow_cells(f: &Flow) -> Vec<String> {
    vec![
        if f.routed {
            f.source.zone.clone()
        } else {
            format!("{} -> {}", f.source.zone, f.destination.zone)
        },
        group_text(&f.source),
        group_text(&f.destination),
        f.transport.to_string(),
        f.ports.to_string(),
        f.service.clone(),
        f.rows
            .iter()
            .map(RowId::to_string)
            .collect::<Vec<_>>()
            .join(" "),
        if f.routed {
            "same zone: no firewall in the path".into()
        } else {
            "no firewall path joins these zones".into()
        },
    ]
}

/// Catalog rows the plan leaves out, and why.
pub fn skipped_table(plan: &Plan) -> Table {
    let mut t = Table::new(&[
        "catalog row",
        "service",
        "proto",
        "ports",
        "why not planned",
    ]);
    for s in &plan.skipped {
        t.push(vec![
            s.row.to_string(),
            s.service.clone(),
            s.transport.to_string(),
            s.ports.to_string(),
            s.reason.clone(),
        ]);
    }
    t
}
