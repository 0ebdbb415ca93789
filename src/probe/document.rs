//! The typed probe document: the counts of a run ([`Summary`]) and the JSON document of
//! `probe --format json` that `report --probe` reads back ([`ProbeDocument`]). Its text for a
//! terminal (the matrix and the summary line) is `view::probe`.

use super::prober::{Outcome, Verdict};
use super::targets::Untestable;
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
