//! The results of other commands that the report includes: `--audit` (an audit document) and
//! `--probe` (a probe document), decoded into the types their writers own. A file that is not the
//! document asked for (another command's output, `{}`, a topology, cut-off JSON) is refused with an
//! error naming the file and what is wrong or missing, never shown as an empty section. A document
//! must carry its `kind` and `version`, and must belong to the topology and plan of the report: the
//! audited firewall, the probe's `--from`, every rule id, flow and catalog-row list must be the
//! plan's. Values echoed from a file into an error are shown with control characters escaped.

use crate::audit::document as audit_doc;
use crate::audit::judge::Audit;
use crate::audit::visible;
use crate::plan::{Plan, rule_tag};
use crate::probe::document::{self as probe_doc, ProbeDocument};
use crate::topology::Topology;
use serde::Deserialize;
use serde::de::IgnoredAny;
use std::path::Path;

/// Which document a file was given as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    Audit,
    Probe,
}

impl Expected {
    fn kind(self) -> &'static str {
        match self {
            Expected::Audit => audit_doc::KIND,
            Expected::Probe => probe_doc::KIND,
        }
    }
    fn version(self) -> u32 {
        match self {
            Expected::Audit => audit_doc::VERSION,
            Expected::Probe => probe_doc::VERSION,
        }
    }
    /// What the document is, in a sentence.
    pub fn noun(self) -> &'static str {
        match self {
            Expected::Audit => "an audit result",
            Expected::Probe => "a probe result",
        }
    }
    /// The command that writes it.
    pub fn made_by(self) -> &'static str {
        match self {
            Expected::Audit => "`portplan audit --format-out json`",
            Expected::Probe => "`portplan probe --format json`",
        }
    }
    /// The report option that takes it.
    pub fn option(self) -> &'static str {
        match self {
            Expected::Audit => "--audit",
            Expected::Probe => "--probe",
        }
    }
    fn other(self) -> Expected {
        match self {
            Expected::Audit => Expected::Probe,
            Expected::Probe => Expected::Audit,
        }
    }
}

/// Why a file given to the report cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{path} (given to {}) is empty; it takes {}", .expected.option(), .expected.made_by())]
    Empty { path: String, expected: Expected },
    #[error("{path} (given to {}) is not JSON: {detail}; it looks like {looks}, and {} takes the output of {}", .expected.option(), .expected.option(), .expected.made_by())]
    NotJson {
        path: String,
        expected: Expected,
        detail: String,
        looks: &'static str,
    },
    #[error("{path} (given to {}) ends before its JSON does ({detail}): a cut-off copy of {}?", .expected.option(), .expected.noun())]
    Truncated {
        path: String,
        expected: Expected,
        detail: String,
    },
    #[error("{path} (given to {}) is JSON but not an object; it takes {}", .expected.option(), .expected.made_by())]
    NotAnObject { path: String, expected: Expected },
    #[error("{path} is {} (from {}), not {}: give it to {}", .found.noun(), .found.made_by(), .expected.noun(), .found.option())]
    WrongDocument {
        path: String,
        expected: Expected,
        found: Expected,
    },
    #[error("{path} (given to {}) is a `{kind}` document, not {} (kind `{}`)", .expected.option(), .expected.noun(), .expected.kind())]
    UnknownKind {
        path: String,
        expected: Expected,
        kind: String,
    },
    #[error("{path} is version {version} of {}; this portplan reads up to version {supported}", .expected.noun())]
    NewerVersion {
        path: String,
        expected: Expected,
        version: u32,
        supported: u32,
    },
    #[error("{path} (given to {}) is not {} from {}: {detail}", .expected.option(), .expected.noun(), .expected.made_by())]
    Incomplete {
        path: String,
        expected: Expected,
        detail: String,
    },
    #[error("{path} (given to {}) has no `kind`: it is not {} written by this portplan; run {} again", .expected.option(), .expected.noun(), .expected.made_by())]
    MissingKind { path: String, expected: Expected },
    #[error("{path} (given to {}) has no `version` (or version 0): it is not {} written by this portplan; run {} again", .expected.option(), .expected.noun(), .expected.made_by())]
    MissingVersion { path: String, expected: Expected },
    #[error("{path} (given to {}) does not belong to the plan of topology `{topology}`: {what}; run {} again on this topology", .expected.option(), .expected.made_by())]
    NotThePlan {
        path: String,
        expected: Expected,
        topology: String,
        what: String,
    },
    #[error(
        "{path} is a probe from `{from}`, which is no server, client network or zone of topology `{topology}`"
    )]
    OtherOrigin {
        path: String,
        from: String,
        topology: String,
    },
    #[error(
        "{path} is the audit of firewall `{firewall}`, which topology `{topology}` does not have"
    )]
    OtherFirewall {
        path: String,
        firewall: String,
        topology: String,
    },
}

/// The fields every document is recognised by, read before the document itself.
#[derive(Deserialize)]
struct Marker {
    kind: Option<String>,
    version: Option<u32>,
    firewall: Option<IgnoredAny>,
    outcomes: Option<IgnoredAny>,
}

fn decode<T: for<'de> Deserialize<'de>>(
    text: &str,
    path: &Path,
    expected: Expected,
) -> Result<T, InputError> {
    use serde_json::error::Category;
    let path = shown(&path.display().to_string());
    if text.trim().is_empty() {
        return Err(InputError::Empty { path, expected });
    }
    // well-formed JSON at all?
    if let Err(e) = serde_json::from_str::<IgnoredAny>(text) {
        let detail = shown(&e.to_string());
        return Err(match e.classify() {
            Category::Eof => InputError::Truncated {
                path,
                expected,
                detail,
            },
            _ => InputError::NotJson {
                path,
                expected,
                detail,
                looks: crate::audit::looks_like(text),
            },
        });
    }
    if !text.trim_start().starts_with('{') {
        return Err(InputError::NotAnObject { path, expected });
    }
    let incomplete = |e: serde_json::Error| InputError::Incomplete {
        path: path.clone(),
        expected,
        detail: shown(&e.to_string()),
    };
    let marker: Marker = serde_json::from_str(text).map_err(incomplete)?;
    match marker.kind.as_deref() {
        Some(k) if k == expected.kind() => {}
        Some(k) if k == expected.other().kind() => {
            return Err(InputError::WrongDocument {
                path,
                expected,
                found: expected.other(),
            });
        }
        Some(k) => {
            return Err(InputError::UnknownKind {
                path,
                expected,
                kind: shown(&k.chars().take(60).collect::<String>()),
            });
        }
        // written before the marker: recognise the other document by its fields
        None => {
            let found = match (marker.firewall.is_some(), marker.outcomes.is_some()) {
                (false, true) => Some(Expected::Probe),
                (true, false) => Some(Expected::Audit),
                _ => None,
            };
            if let Some(found) = found.filter(|f| *f != expected) {
                return Err(InputError::WrongDocument {
                    path,
                    expected,
                    found,
                });
            }
            // without the marker nothing says the file is what it claims to be
            return Err(InputError::MissingKind { path, expected });
        }
    }
    if marker.version.unwrap_or(0) == 0 {
        return Err(InputError::MissingVersion { path, expected });
    }
    if let Some(version) = marker.version.filter(|v| *v > expected.version()) {
        return Err(InputError::NewerVersion {
            path,
            expected,
            version,
            supported: expected.version(),
        });
    }
    serde_json::from_str(text).map_err(incomplete)
}

/// `text` as a message may show it: control characters escaped, at most 200 characters.
fn shown(text: &str) -> String {
    let cut: String = text.chars().take(200).collect();
    visible(&cut).into_owned()
}

/// Decodes the text of `--audit PATH` for a report on `topology` and its `plan`: the firewall must
/// be the topology's, and every rule the plan's rule of that firewall with the same catalog rows.
pub fn audit(
    text: &str,
    path: &Path,
    topology: &Topology,
    plan: &Plan,
) -> Result<Audit, InputError> {
    let audit: Audit = decode(text, path, Expected::Audit)?;
    let path = shown(&path.display().to_string());
    if topology.firewalls.iter().all(|f| f.name != audit.firewall) {
        return Err(InputError::OtherFirewall {
            path,
            firewall: shown(&audit.firewall.chars().take(80).collect::<String>()),
            topology: topology.name.clone(),
        });
    }
    let not_the_plan = |what: String| InputError::NotThePlan {
        path: path.clone(),
        expected: Expected::Audit,
        topology: topology.name.clone(),
        what,
    };
    for r in &audit.rules {
        let Some(planned) = plan.rules.iter().find(|p| p.id == r.rule) else {
            return Err(not_the_plan(format!(
                "rule {} is not in the plan (it has r1 to r{})",
                rule_tag(r.rule),
                plan.rules.len()
            )));
        };
        if planned.firewall != audit.firewall {
            return Err(not_the_plan(format!(
                "rule {} belongs to firewall `{}`, not `{}`",
                rule_tag(r.rule),
                planned.firewall,
                audit.firewall
            )));
        }
        if planned.rows_text() != r.rows {
            return Err(not_the_plan(format!(
                "rule {} implements catalog rows `{}`, the file says `{}`",
                rule_tag(r.rule),
                planned.rows_text(),
                shown(&r.rows)
            )));
        }
        // the rest of the row as the plan has it
        let fields = [
            ("service", planned.service.clone(), r.service.clone()),
            (
                "interfaces",
                format!(
                    "{} -> {}",
                    planned.ingress_interface, planned.egress_interface
                ),
                format!("{} -> {}", r.ingress, r.egress),
            ),
            (
                "protocol",
                planned.transport.to_string(),
                r.transport.to_string(),
            ),
            ("ports", planned.ports.to_string(), r.ports.clone()),
            (
                "family",
                format!("{:?}", planned.family),
                format!("{:?}", r.family),
            ),
        ];
        if let Some((what, plan_has, file_has)) = fields.iter().find(|(_, a, b)| a != b) {
            return Err(not_the_plan(format!(
                "rule {} has {what} `{plan_has}` in the plan, the file says `{}`",
                rule_tag(r.rule),
                shown(file_has)
            )));
        }
    }
    // the audit of a firewall judges each of its planned rules once
    let mut listed: Vec<usize> = audit.rules.iter().map(|r| r.rule).collect();
    listed.sort_unstable();
    if let Some(w) = listed.windows(2).find(|w| w[0] == w[1]) {
        return Err(not_the_plan(format!(
            "rule {} is listed twice",
            rule_tag(w[0])
        )));
    }
    let missing: Vec<usize> = plan
        .rules
        .iter()
        .filter(|p| p.firewall == audit.firewall && listed.binary_search(&p.id).is_err())
        .map(|p| p.id)
        .collect();
    if !missing.is_empty() {
        return Err(not_the_plan(format!(
            "the plan's rule(s) {} of firewall `{}` are missing",
            crate::plan::rule_tags_text(&missing),
            audit.firewall
        )));
    }
    Ok(audit)
}

/// Decodes the text of `--probe PATH` for a report on `topology` and its `plan`: `from` must be
/// a server, client network or zone of the topology, and every outcome and untestable flow one of
/// the plan's flows, with its rules and catalog rows.
pub fn probe(
    text: &str,
    path: &Path,
    topology: &Topology,
    plan: &Plan,
) -> Result<ProbeDocument, InputError> {
    let doc: ProbeDocument = decode(text, path, Expected::Probe)?;
    let path = shown(&path.display().to_string());
    if crate::probe::targets::origin(topology, &doc.from).is_err() {
        return Err(InputError::OtherOrigin {
            path,
            from: shown(&doc.from),
            topology: topology.name.clone(),
        });
    }
    let not_the_plan = |what: String| InputError::NotThePlan {
        path: path.clone(),
        expected: Expected::Probe,
        topology: topology.name.clone(),
        what,
    };
    let flows = doc
        .outcomes
        .iter()
        .map(|o| (o.target.flow, &o.target.rules, &o.target.rows))
        .chain(doc.untestable.iter().map(|u| (u.flow, &u.rules, &u.rows)));
    for (flow, rules, rows) in flows {
        let Some(planned) = flow.checked_sub(1).and_then(|i| plan.flows.get(i)) else {
            return Err(not_the_plan(format!(
                "flow {flow} is not in the plan (it has flows 1 to {})",
                plan.flows.len()
            )));
        };
        if let Some(r) = rules.iter().find(|r| !planned.rules.contains(r)) {
            return Err(not_the_plan(format!(
                "rule {} is not a rule of flow {flow} (the plan gives it {})",
                rule_tag(*r),
                if planned.rules.is_empty() {
                    "none".to_string()
                } else {
                    crate::plan::rule_tags_text(&planned.rules)
                }
            )));
        }
        let planned_rows = planned
            .rows
            .iter()
            .map(|r| r.to_string())
            .collect::<Vec<_>>()
            .join(" ");
        if &planned_rows != rows {
            return Err(not_the_plan(format!(
                "flow {flow} implements catalog rows `{planned_rows}`, the file says `{}`",
                shown(rows)
            )));
        }
    }
    for o in &doc.outcomes {
        let t = &o.target;
        let planned = &plan.flows[t.flow - 1]; // checked above
        if t.transport != planned.transport || !planned.ports.contains(t.port) {
            return Err(not_the_plan(format!(
                "flow {} is {} {} in the plan, the file probed {} {}",
                t.flow, planned.transport, planned.ports, t.transport, t.port
            )));
        }
    }
    let counted = probe_doc::Summary::of(&doc.outcomes, &doc.untestable);
    if counted != doc.summary {
        return Err(not_the_plan(format!(
            "its summary does not count its own outcomes ({} probes, {} passed, {} unreachable, {} errors, {} untestable counted; the summary says {}, {}, {}, {}, {})",
            counted.probes,
            counted.passed,
            counted.unreachable,
            counted.errors,
            counted.untestable,
            doc.summary.probes,
            doc.summary.passed,
            doc.summary.unreachable,
            doc.summary.errors,
            doc.summary.untestable
        )));
    }
    Ok(doc)
}
