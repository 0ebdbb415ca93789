//! The audit of a firewall configuration as text for a terminal (`portplan audit`).

use super::table::Table;
use crate::audit::judge::{Audit, Status};
use std::path::Path;

/// The audit of one firewall's configuration (read from `path`) as text for a terminal: the
/// planned rules with their status, then what is blocked or unclear, what is allowed beyond the
/// plan, what was read only in part or not at all, and a count line.
pub fn audit_text(a: &Audit, path: &Path) -> String {
    // configuration text reaches the terminal with its control characters escaped
    let a = &crate::audit::for_terminal(a);
    let shown_path = crate::audit::visible(&path.to_string_lossy()).into_owned();
    let path = Path::new(&shown_path);
    let mut t = Table::new(&[
        "rule",
        "catalog rows",
        "in -> out",
        "family",
        "proto",
        "ports",
        "status",
        "decided by",
    ]);
    for r in &a.rules {
        let by: Vec<String> = r
            .parts
            .iter()
            .flat_map(|p| p.by.iter().map(|l| l.label()))
            .collect();
        let mut by_unique: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for b in by {
            if seen.insert(b.clone()) {
                by_unique.push(b);
            }
        }
        t.push(vec![
            format!("r{}", r.rule),
            r.rows.clone(),
            format!("{} -> {}", r.ingress, r.egress),
            r.family.to_string(),
            r.transport.to_string(),
            r.ports.clone(),
            match r.status {
                Status::Allowed => "allowed".into(),
                other => format!("{} !", format!("{other:?}").to_uppercase()),
            },
            by_unique.join(", "),
        ]);
    }
    let mut s = format!(
        "audit of `{}` ({}, {})\n{}",
        a.firewall,
        a.format,
        path.display(),
        t.to_text()
    );
    let troubled: Vec<_> = a
        .rules
        .iter()
        .filter(|r| r.status != Status::Allowed)
        .collect();
    if !troubled.is_empty() {
        s.push_str("\nWhat is blocked or unclear:\n");
        for r in troubled {
            s.push_str(&format!(
                "  r{} {} {} {} ({}):\n",
                r.rule, r.service, r.transport, r.ports, r.rows
            ));
            for p in &r.parts {
                let by: Vec<String> = p.by.iter().map(located).collect();
                s.push_str(&format!(
                    "    {:<9} {}  [{}]\n",
                    p.verdict,
                    p.what.join("; "),
                    by.join("; ")
                ));
            }
        }
    }
    if !a.overexposure.is_empty() {
        s.push_str("\nAllowed beyond the plan:\n");
        for e in &a.overexposure {
            s.push_str(&format!(
                "  {}{} -> {} ({}{}) by {}: {}\n",
                if e.certain { "" } else { "MAYBE " },
                e.ingress,
                e.egress,
                e.family,
                if e.into_protected_zone {
                    ", into a protected zone"
                } else {
                    ""
                },
                located(&e.by),
                e.what.join("; ")
            ));
        }
    }
    if !a.partly_read.is_empty() {
        s.push_str("\nRules read only in part (what they match is uncertain):\n");
        for p in &a.partly_read {
            s.push_str(&format!("  {}: {} ({})\n", p.at.label(), p.at.text, p.why));
        }
    }
    if !a.unparsed.is_empty() {
        s.push_str("\nLines not interpreted (verdicts they could change are marked uncertain):\n");
        for u in &a.unparsed {
            s.push_str(&format!("  line {}: {} ({})\n", u.line, u.text, u.why));
        }
    }
    for n in &a.notes {
        s.push_str(&format!("note: {n}\n"));
    }
    s.push_str(&format!(
        "{} planned rules: {} allowed, {} partial, {} blocked, {} uncertain; {} opening(s) beyond the plan; {} rule(s) read in part, {} line(s) not interpreted\n",
        a.rules.len(),
        a.count(Status::Allowed),
        a.count(Status::Partial),
        a.count(Status::Blocked),
        a.count(Status::Uncertain),
        a.overexposure.len(),
        a.partly_read.len(),
        a.unparsed.len()
    ));
    s
}

/// A place in the configuration: `line N `text`` for a line of the file, the description alone
/// for what no line says (a missing forward chain, a default), which would otherwise show twice.
fn located(l: &crate::audit::model::Location) -> String {
    match l.line {
        Some(_) => format!("{} `{}`", l.label(), l.text),
        None => l.text.clone(),
    }
}
