//! The `portplan between` tables: the catalog rows between two roles, and the planned flows
//! between two names of a topology, each with its direction.

use super::plan::group_text;
use super::table::{Style, Table};
use crate::catalog::{Row, RowId, Version};
use crate::plan::{Flow, rule_tags_text};
use crate::topology::Topology;

fn direction(forward: bool, a: &str, b: &str) -> String {
    if forward {
        format!("{a} -> {b}")
    } else {
        format!("{b} -> {a}")
    }
}

/// The catalog rows between roles `a` and `b` of `version` (`true`: from `a` to `b`), with the
/// version line above and the count below.
pub fn catalog_rows_text(
    version: Version,
    a: &str,
    b: &str,
    rows: &[(bool, RowId, &Row)],
    style: Style,
) -> String {
    let mut t = Table::new(&[
        "direction",
        "proto",
        "ports",
        "service",
        "source",
        "destination",
        "condition",
        "catalog row",
        "why",
    ]);
    for (fwd, id, r) in rows {
        t.push(vec![
            direction(*fwd, a, b),
            r.transport.to_string(),
            r.ports.to_string(),
            r.service.clone(),
            r.source.to_string(),
            r.destination.to_string(),
            r.condition.map(|c| c.to_string()).unwrap_or_default(),
            id.to_string(),
            r.explanation(),
        ]);
    }
    format!(
        "version: {version} ({})\n{}{} catalog row(s)\n",
        version.description(),
        t.show(style),
        rows.len()
    )
}

/// The planned flows between names `a` and `b` of `topology` (`true`: from `a` to `b`), with the
/// version line above and the count below.
pub fn flows_text(
    topology: &Topology,
    a: &str,
    b: &str,
    found: &[(bool, &Flow)],
    style: Style,
) -> String {
    let mut t = Table::new(&[
        "direction",
        "source",
        "destination",
        "proto",
        "ports",
        "service",
        "firewalls",
        "rules",
        "catalog rows",
    ]);
    for (fwd, f) in found {
        let path: Vec<&str> = f.path.iter().map(|h| h.firewall.as_str()).collect();
        t.push(vec![
            direction(*fwd, a, b),
            group_text(&f.source),
            group_text(&f.destination),
            f.transport.to_string(),
            f.ports.to_string(),
            f.service.clone(),
            if path.is_empty() {
                "(none)".into()
            } else {
                path.join(", ")
            },
            rule_tags_text(&f.rules),
            f.rows_text(),
        ]);
    }
    format!(
        "version: {} ({})\n{}{} planned flow(s)\n",
        topology.version,
        topology.version.description(),
        t.show(style),
        found.len()
    )
}
