//! Tables and JSON of the port catalog: its rows, its scenarios.

use super::table::Table;
use crate::catalog::{Catalog, Row};
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
pub fn catalog_json(
    catalog: &Catalog,
    scenario: Option<&str>,
) -> Result<String, serde_json::Error> {
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
