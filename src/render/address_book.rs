//! Named address groups shared by the firewall generators: nftables sets, ipsets, ASA network
//! object-groups and Aerleon network names all come from here, so one role has one name everywhere.

use crate::plan::{Family, Group, Rule};
use ipnet::IpNet;
use std::collections::BTreeMap;

/// Address groups used by a set of rules, each with a stable name.
#[derive(Debug, Default)]
pub struct AddressBook {
    /// name -> members (both families), in first-seen order
    entries: BTreeMap<String, Vec<IpNet>>,
    /// (role label, zone) -> name
    names: BTreeMap<(String, String), String>,
}

/// Lower-case letters, digits and `_` only; never starts with a digit.
pub fn identifier(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    while out.contains("__") {
        out = out.replace("__", "_");
    }
    let out = out.trim_matches('_').to_string();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        format!("g_{out}")
    } else {
        out
    }
}

impl AddressBook {
    /// Collects the groups of `rules`.
    pub fn new<'a>(rules: impl IntoIterator<Item = &'a Rule>) -> AddressBook {
        let mut book = AddressBook::default();
        for r in rules {
            book.add(&r.source);
            book.add(&r.destination);
        }
        book
    }

    fn add(&mut self, g: &Group) {
        let key = (g.role.to_string(), g.zone.clone());
        let nets = g.nets();
        if let Some(name) = self.names.get(&key) {
            let entry = self.entries.get_mut(name).expect("named entry");
            for n in nets {
                if !entry.contains(&n) {
                    entry.push(n);
                }
            }
            return;
        }
        let base = if g.role == "any" {
            identifier(&format!("any_{}", g.zone))
        } else {
            identifier(&g.role)
        };
        let mut name = base.clone();
        if self.entries.contains_key(&name) {
            name = identifier(&format!("{base}_{}", g.zone));
        }
        let mut n = 2;
        while self.entries.contains_key(&name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        self.entries.insert(name.clone(), nets);
        self.names.insert(key, name);
    }

    /// The name of a group's entry.
    pub fn name(&self, g: &Group) -> &str {
        self.names
            .get(&(g.role.to_string(), g.zone.clone()))
            .map(|s| s.as_str())
            .expect("group was added to the book")
    }

    /// Every entry with its members of one family (entries without such members are left out).
    pub fn entries(&self, family: Family) -> impl Iterator<Item = (&str, Vec<IpNet>)> {
        self.entries.iter().filter_map(move |(name, nets)| {
            let nets: Vec<IpNet> = nets
                .iter()
                .copied()
                .filter(|n| Family::of(n) == family)
                .collect();
            (!nets.is_empty()).then_some((name.as_str(), nets))
        })
    }

    /// Every entry with all its members.
    pub fn all(&self) -> impl Iterator<Item = (&str, &[IpNet])> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }
}

/// A one-line comment for a rule: its plan id, catalog rows and service, at most `max` bytes of
/// printable ASCII without quotes (firewalls differ in what they accept; this suits all of them).
pub fn rule_comment(rule: &Rule, max: usize) -> String {
    let text = format!(
        "portplan r{} {} {}",
        rule.id,
        rule.rows_text(),
        rule.service
    );
    let clean: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\'' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.len() <= max {
        clean
    } else {
        format!("{}...", &clean[..max.saturating_sub(3)])
    }
}

/// A comment for several rules merged into one firewall rule: their plan ids, then their catalog
/// rows grouped by table (`portplan r25 r26 edge-consolidated-hlb/internal-interface#1,2`), cut to
/// `max` bytes. The ids come first so a cut never hides which plan rules are inside.
pub fn merged_comment(rules: &[&Rule], max: usize) -> String {
    let ids: Vec<String> = rules.iter().map(|r| format!("r{}", r.id)).collect();
    let mut tables: Vec<(String, Vec<usize>)> = Vec::new();
    for row in rules.iter().flat_map(|r| r.rows.iter()) {
        let key = format!("{}/{}", row.scenario, row.table);
        match tables.iter_mut().find(|(k, _)| *k == key) {
            Some((_, idx)) if !idx.contains(&row.index) => idx.push(row.index),
            Some(_) => {}
            None => tables.push((key, vec![row.index])),
        }
    }
    let rows: Vec<String> = tables
        .iter()
        .map(|(k, idx)| {
            let idx: Vec<String> = idx.iter().map(|i| i.to_string()).collect();
            format!("{k}#{}", idx.join(","))
        })
        .collect();
    let text = format!("portplan {} {}", ids.join(" "), rows.join(" "));
    if text.len() <= max {
        text
    } else {
        format!("{}...", &text[..max.saturating_sub(3)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_safe_names() {
        assert_eq!(identifier("edge.access.vip"), "edge_access_vip");
        assert_eq!(
            identifier("director+front-end.pool"),
            "director_front_end_pool"
        );
        assert_eq!(identifier("10net"), "g_10net");
        assert_eq!(identifier("..."), "g_");
    }
}
