//! A probe run as text for a terminal (`portplan probe`): the matrix, one row per flow ×
//! destination × port with its verdict and catalog reason, and the summary line that counts each
//! kind of failure apart. Each row names the planned rules it exercises by the ids the plan and
//! every firewall target use (`r38`).

use super::table::Table;
use crate::probe::document::Summary;
use crate::probe::prober::Outcome;

/// The counts of a probe run in one line, then a closing `N passed, M failed` any test runner can
/// read.
pub fn summary_line(s: &Summary) -> String {
    let failed = s.probes - s.passed;
    format!(
        "{} probes: {} refused, {} filtered, {} silent, {} unreachable, {} errors; {} flows had nothing concrete to probe\n{} passed, {} failed",
        s.probes,
        s.refused,
        s.filtered,
        s.silent,
        s.unreachable,
        s.errors,
        s.untestable,
        s.passed,
        failed
    )
}

/// The probe matrix as a table.
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
