//! Tables of the plan: its rules, the flows no firewall carries, the catalog rows left out, and the
//! labels (addresses, groups) every view and render target writes the same way.

use super::table::Table;
use crate::catalog::RowId;
use crate::plan::{Flow, Group, Plan, Rule};

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

/// The columns of a rule shown under its hop (a firewall and its pair of interfaces), as the HTML
/// report groups them; [`plan_table`] adds the firewall and the interfaces after the rule id.
pub const HOP_RULE_HEADERS: [&str; 9] = [
    "rule",
    "family",
    "source",
    "destination",
    "proto",
    "ports",
    "service",
    "catalog rows",
    "feature",
];

/// The cells of a rule under [`HOP_RULE_HEADERS`].
pub fn hop_rule_cells(r: &Rule) -> Vec<String> {
    vec![
        r.tag(),
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

/// A hop's columns with the hop itself (firewall, `in -> out`) after the first.
fn with_hop<T>(mut cells: Vec<T>, firewall: T, interfaces: T) -> Vec<T> {
    cells.splice(1..1, [firewall, interfaces]);
    cells
}

/// Rules (those of a render scope, say) as a table.
pub fn plan_table<'a>(rules: impl IntoIterator<Item = &'a Rule>) -> Table {
    let mut t = Table::new(&with_hop(
        HOP_RULE_HEADERS.to_vec(),
        "firewall",
        "in -> out",
    ));
    for r in rules {
        t.push(with_hop(
            hop_rule_cells(r),
            r.firewall.clone(),
            format!("{} -> {}", r.ingress_interface, r.egress_interface),
        ));
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
        f.rows_text(),
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

/// A planned catalog row that carries a doubt, with the rules (in scope) made from it.
#[derive(Debug, Clone)]
pub struct Doubt {
    pub row: RowId,
    pub text: &'static str,
    pub rules: Vec<usize>,
}

/// The planned catalog rows with a `doubt`, in catalog order; with `firewall`, only rows that give
/// that firewall a rule.
pub fn planned_doubts(plan: &Plan, firewall: Option<&str>) -> Vec<Doubt> {
    crate::catalog::Catalog::builtin()
        .rows_with_ids()
        .filter_map(|(id, row)| {
            let text = row.doubt.as_deref()?;
            if !plan.flows.iter().any(|f| f.rows.contains(&id)) {
                return None;
            }
            let rules: Vec<usize> = plan
                .rules
                .iter()
                .filter(|r| r.rows.contains(&id) && firewall.is_none_or(|f| r.firewall == f))
                .map(|r| r.id)
                .collect();
            (firewall.is_none() || !rules.is_empty()).then_some(Doubt {
                row: id,
                text,
                rules,
            })
        })
        .collect()
}

/// The doubtful rows as a footer keyed by rule number.
pub fn doubt_table(doubts: &[Doubt]) -> Table {
    let mut t = Table::new(&["rules", "catalog row", "doubt"]);
    for d in doubts {
        t.push(vec![
            if d.rules.is_empty() {
                "(none: no firewall between)".into()
            } else {
                d.rules
                    .iter()
                    .map(|r| format!("r{r}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            },
            d.row.to_string(),
            d.text.to_string(),
        ]);
    }
    t
}

/// Requirements the plan carries no rule for (`lint_sfb::unplanned`): what is needed and what to
/// do by hand.
pub fn unplanned_table(findings: &[crate::topology::Finding]) -> Table {
    let mut t = Table::new(&["code", "requirement", "by hand"]);
    for f in findings {
        t.push(vec![
            f.code.to_string(),
            f.message.clone(),
            f.help.clone().unwrap_or_default(),
        ]);
    }
    t
}
