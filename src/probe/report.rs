//! The probe matrix: one row per flow × destination × port, with the verdict and the catalog
//! reason, and a summary line that counts every kind of failure separately. Each row names the
//! planned rules it exercises by the ids the plan and every firewall target use (`r38`).

use super::prober::{Outcome, Verdict};
use super::targets::Untestable;
use crate::view::table::Table;
use serde::{Deserialize, Serialize};

/// Counts of a probe run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Summary {
    pub probes: usize,
    pub passed: usize,
    pub refused: usize,
    pub filtered: usize,
    pub silent: usize,
    pub unreachable: usize,
    pub errors: usize,
    pub untestable: usize,
}

impl Summary {
    pub fn of(outcomes: &[Outcome], untestable: &[Untestable]) -> Summary {
        let count = |v: Verdict| outcomes.iter().filter(|o| o.verdict == v).count();
        Summary {
            probes: outcomes.len(),
            passed: outcomes.iter().filter(|o| o.verdict.passed()).count(),
            refused: count(Verdict::Refused),
            filtered: count(Verdict::Filtered),
            silent: count(Verdict::Silent),
            unreachable: count(Verdict::Unreachable),
            errors: count(Verdict::Error),
            untestable: untestable.len(),
        }
    }

    /// Every probe passed, and there was at least one: a run that tested nothing proves nothing.
    pub fn all_passed(&self) -> bool {
        self.probes > 0 && self.passed == self.probes
    }

    /// One line, with a closing `N passed, M failed` any test runner can read.
    pub fn line(&self) -> String {
        let failed = self.probes - self.passed;
        format!(
            "{} probes: {} refused, {} filtered, {} silent, {} unreachable, {} errors; {} flows had nothing concrete to probe\n{} passed, {} failed",
            self.probes,
            self.refused,
            self.filtered,
            self.silent,
            self.unreachable,
            self.errors,
            self.untestable,
            self.passed,
            failed
        )
    }
}

/// The matrix as a table.
pub fn matrix(outcomes: &[Outcome]) -> Table {
    let mut t = Table::new(&[
        "rules",
        "catalog rows",
        "from",
        "to",
        "proto",
        "port",
        "verdict",
        "detail",
        "service",
    ]);
    for o in outcomes {
        let t_ = &o.target;
        let mut detail = o.detail.clone().unwrap_or_default();
        if let Some(cert) = &o.certificate {
            if !detail.is_empty() {
                detail.push_str("; ");
            }
            detail.push_str(&cert.summary());
        }
        let port = match t_.range {
            Some(r) => format!("{} (of {r})", t_.port),
            None => t_.port.to_string(),
        };
        t.push(vec![
            if t_.rules.is_empty() {
                "-".into()
            } else {
                crate::plan::rule_tags_text(&t_.rules)
            },
            t_.rows.clone(),
            t_.source
                .map(|s| s.to_string())
                .unwrap_or_else(|| "(this host)".into()),
            match t_.nat_of {
                Some(private) => format!(
                    "{} {} (NAT of {private})",
                    t_.destination_host, t_.destination
                ),
                None => format!("{} {}", t_.destination_host, t_.destination),
            },
            t_.transport.to_string(),
            port,
            if o.verdict.passed() {
                o.verdict.as_str().to_string()
            } else {
                format!("{} !", o.verdict.as_str().to_uppercase())
            },
            // what a peer sent (certificate names, HTTP status lines) reaches a terminal only
            // with its control characters escaped
            crate::audit::visible(&detail).into_owned(),
            t_.service.clone(),
        ]);
    }
    t
}

/// The `kind` of a probe document.
pub const KIND: &str = "portplan-probe";
/// The newest layout of the probe document. Documents without a version (written before the
/// marker existed) are read as version 1.
pub const VERSION: u32 = 1;

/// The JSON document of `probe --format json`, read back by `report --probe`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProbeDocument {
    /// Always [`KIND`]; absent in documents from before the marker.
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub version: u32,
    /// The `--from` the probes were sent from.
    pub from: String,
    pub summary: Summary,
    pub outcomes: Vec<Outcome>,
    pub untestable: Vec<Untestable>,
}

impl ProbeDocument {
    pub fn new(
        from: &str,
        summary: Summary,
        outcomes: Vec<Outcome>,
        untestable: Vec<Untestable>,
    ) -> ProbeDocument {
        ProbeDocument {
            kind: KIND.into(),
            version: VERSION,
            from: from.into(),
            summary,
            outcomes,
            untestable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_that_probed_nothing_is_not_a_pass() {
        assert!(!Summary::of(&[], &[]).all_passed());
    }
}
