//! Two product versions' port tables side by side (`portplan catalog --compare FROM TO`).
//!
//! Scenarios are paired by the slot they fill (the Lync 2013 single Edge with NAT and the Skype for
//! Business Edge with NAT fill the same slot), rows by their key: table, service, transport, ports and
//! direction. A key on one side only is a row added or removed; a key on both sides whose ends or
//! condition differ is a changed row. Keys a table lists twice are paired in order, equal rows first.

use super::{Catalog, Direction, Feature, PortRange, Role, Row, RowId, Transport, Version};
use serde::Serialize;
use std::fmt;

/// One row as the comparison shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub id: String,
    pub table: String,
    pub service: String,
    pub transport: Transport,
    pub ports: PortRange,
    pub direction: Direction,
    /// The source role, with the document's narrower suggestion in parentheses.
    pub source: String,
    pub destination: String,
    pub condition: Option<Feature>,
}

impl Entry {
    fn new(id: &RowId, row: &Row) -> Entry {
        Entry {
            id: id.to_string(),
            table: row.table.clone(),
            service: row.service.clone(),
            transport: row.transport,
            ports: row.ports,
            direction: row.direction,
            source: end_text(row.source, &row.narrow_source),
            destination: end_text(row.destination, &row.narrow_destination),
            condition: row.condition,
        }
    }

    fn key(&self) -> (&str, &str, Transport, PortRange, &'static str) {
        (
            &self.table,
            &self.service,
            self.transport,
            self.ports,
            self.direction.as_str(),
        )
    }

    fn ends(&self) -> (&str, &str, Option<Feature>) {
        (&self.source, &self.destination, self.condition)
    }

    fn head(&self) -> String {
        format!(
            "{} {} {} {} {}",
            self.table,
            self.service,
            self.transport,
            self.ports,
            self.direction.as_str()
        )
    }

    fn body(&self) -> String {
        let condition = match self.condition {
            Some(c) => format!(" [{c}]"),
            None => String::new(),
        };
        format!("{} -> {}{condition}", self.source, self.destination)
    }
}

fn end_text(role: Role, narrow: &[Role]) -> String {
    if narrow.is_empty() {
        role.to_string()
    } else {
        let n: Vec<&str> = narrow.iter().map(|r| r.as_str()).collect();
        format!("{role} (or {})", n.join(", "))
    }
}

/// A row whose key both versions have, with what differs.
#[derive(Debug, Clone, Serialize)]
pub struct Changed {
    pub from: Entry,
    pub to: Entry,
    /// `source`, `destination` and/or `condition`.
    pub fields: Vec<&'static str>,
}

/// The differences in one slot.
#[derive(Debug, Clone, Serialize)]
pub struct SlotDiff {
    pub slot: String,
    /// The scenario that fills the slot in each version (none: the version has no such table).
    pub from_scenario: Option<String>,
    pub to_scenario: Option<String>,
    pub added: Vec<Entry>,
    pub removed: Vec<Entry>,
    pub changed: Vec<Changed>,
    pub unchanged: usize,
}

impl SlotDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// Every slot's differences between two versions, in catalog order.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub from: Version,
    pub to: Version,
    pub slots: Vec<SlotDiff>,
}

impl Comparison {
    pub fn added(&self) -> usize {
        self.slots.iter().map(|s| s.added.len()).sum()
    }
    pub fn removed(&self) -> usize {
        self.slots.iter().map(|s| s.removed.len()).sum()
    }
    pub fn changed(&self) -> usize {
        self.slots.iter().map(|s| s.changed.len()).sum()
    }
    pub fn slot(&self, slot: &str) -> Option<&SlotDiff> {
        self.slots.iter().find(|s| s.slot == slot)
    }
}

/// Compares the tables `from` plans with the ones `to` plans.
pub fn compare(catalog: &Catalog, from: Version, to: Version) -> Comparison {
    let mut slots: Vec<&str> = Vec::new();
    for s in &catalog.scenarios {
        for slot in s.slot_ids() {
            if !slots.contains(&slot) {
                slots.push(slot);
            }
        }
    }
    let entries = |slot: &str, version: Version| -> (Option<String>, Vec<Entry>) {
        match catalog.scenario_for(slot, version) {
            Some(s) => (
                Some(s.id.clone()),
                catalog
                    .rows_of_version(version)
                    .filter(|(_, r)| r.scenario == s.id)
                    .map(|(id, r)| Entry::new(&id, r))
                    .collect(),
            ),
            None => (None, Vec::new()),
        }
    };
    let slots = slots
        .into_iter()
        .map(|slot| {
            let (from_scenario, old) = entries(slot, from);
            let (to_scenario, new) = entries(slot, to);
            let mut diff = diff(old, new);
            diff.slot = slot.to_string();
            diff.from_scenario = from_scenario;
            diff.to_scenario = to_scenario;
            diff
        })
        .collect();
    Comparison { from, to, slots }
}

fn diff(old: Vec<Entry>, new: Vec<Entry>) -> SlotDiff {
    let mut old: Vec<Option<Entry>> = old.into_iter().map(Some).collect();
    let mut new: Vec<Option<Entry>> = new.into_iter().map(Some).collect();
    let mut unchanged = 0;
    // equal rows first, so a key listed twice pairs its twins before anything is called changed
    for o in old.iter_mut() {
        let twin = new.iter_mut().find(|n| {
            matches!((&*o, &**n), (Some(a), Some(b)) if a.key() == b.key() && a.ends() == b.ends())
        });
        if let Some(twin) = twin {
            *twin = None;
            *o = None;
            unchanged += 1;
        }
    }
    let mut changed = Vec::new();
    for o in old.iter_mut() {
        let Some(a) = o.as_ref() else { continue };
        let pair = new
            .iter_mut()
            .find(|n| n.as_ref().is_some_and(|b| a.key() == b.key()));
        if let Some(pair) = pair {
            let b = pair.take().expect("found as Some");
            let a = o.take().expect("checked as Some");
            let mut fields = Vec::new();
            if a.source != b.source {
                fields.push("source");
            }
            if a.destination != b.destination {
                fields.push("destination");
            }
            if a.condition != b.condition {
                fields.push("condition");
            }
            changed.push(Changed {
                from: a,
                to: b,
                fields,
            });
        }
    }
    SlotDiff {
        slot: String::new(),
        from_scenario: None,
        to_scenario: None,
        added: new.into_iter().flatten().collect(),
        removed: old.into_iter().flatten().collect(),
        changed,
        unchanged,
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} ({}) -> {} ({})",
            self.from,
            self.from.description(),
            self.to,
            self.to.description()
        )?;
        let none = || "(none)".to_string();
        for s in &self.slots {
            if s.from_scenario.is_none() && s.to_scenario.is_none() {
                continue;
            }
            writeln!(
                f,
                "\n{}: {} -> {}: {} added, {} removed, {} changed, {} unchanged",
                s.slot,
                s.from_scenario.clone().unwrap_or_else(none),
                s.to_scenario.clone().unwrap_or_else(none),
                s.added.len(),
                s.removed.len(),
                s.changed.len(),
                s.unchanged
            )?;
            for e in &s.removed {
                writeln!(f, "  - {}: {}  ({})", e.head(), e.body(), e.id)?;
            }
            for e in &s.added {
                writeln!(f, "  + {}: {}  ({})", e.head(), e.body(), e.id)?;
            }
            for c in &s.changed {
                writeln!(
                    f,
                    "  ~ {}: {}  =>  {}  ({} -> {}; {})",
                    c.from.head(),
                    c.from.body(),
                    c.to.body(),
                    c.from.id,
                    c.to.id,
                    c.fields.join(", ")
                )?;
            }
        }
        writeln!(
            f,
            "\n{} added, {} removed, {} changed",
            self.added(),
            self.removed(),
            self.changed()
        )
    }
}
