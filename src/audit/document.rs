//! The JSON document `portplan audit --format-out json` writes and `portplan report --audit` reads:
//! the typed [`Audit`] with a `kind` marker and a format version in front, so that a reader can
//! tell an audit result from any other JSON before it looks at the fields.

use super::judge::Audit;
use serde::{Deserialize, Serialize};

/// The `kind` of an audit document.
pub const KIND: &str = "portplan-audit";
/// The newest layout of the document this portplan writes and reads. Documents without a version
/// (written before the marker existed) are read as version 1.
pub const VERSION: u32 = 1;

/// An audit as written to JSON: the marker, then every field of [`Audit`] unchanged.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditDocument {
    pub kind: String,
    pub version: u32,
    #[serde(flatten)]
    pub audit: Audit,
}

impl AuditDocument {
    pub fn new(audit: Audit) -> AuditDocument {
        AuditDocument {
            kind: KIND.into(),
            version: VERSION,
            audit,
        }
    }
}
