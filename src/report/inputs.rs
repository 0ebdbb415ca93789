//! The results of other commands that the report includes: `--audit` (an audit document) and
//! `--probe` (a probe document), decoded into the types their writers own. A file that is not the
//! document asked for (another command's output, `{}`, a topology, cut-off JSON) is refused with an
//! error naming the file and what is wrong or missing, never shown as an empty section.

use crate::audit::document as audit_doc;
use crate::audit::judge::Audit;
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
    let path = path.display().to_string();
    if text.trim().is_empty() {
        return Err(InputError::Empty { path, expected });
    }
    // well-formed JSON at all?
    if let Err(e) = serde_json::from_str::<IgnoredAny>(text) {
        let detail = e.to_string();
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
        detail: e.to_string(),
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
                kind: k.chars().take(60).collect(),
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
        }
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

/// Decodes the text of `--audit PATH` for a report on `topology`.
pub fn audit(text: &str, path: &Path, topology: &Topology) -> Result<Audit, InputError> {
    let audit: Audit = decode(text, path, Expected::Audit)?;
    if topology.firewalls.iter().all(|f| f.name != audit.firewall) {
        return Err(InputError::OtherFirewall {
            path: path.display().to_string(),
            firewall: audit.firewall.chars().take(80).collect(),
            topology: topology.name.clone(),
        });
    }
    Ok(audit)
}

/// Decodes the text of `--probe PATH`.
pub fn probe(text: &str, path: &Path) -> Result<ProbeDocument, InputError> {
    decode(text, path, Expected::Probe)
}
