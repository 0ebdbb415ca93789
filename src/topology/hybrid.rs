//! The topology's `[hybrid]` section: hybrid with Microsoft 365 (Skype for Business Online /
//! Teams). It switches the `hybrid` feature on, names the endpoint snapshot whose Skype service
//! area ranges stand for the `microsoft-365` role (the built-in one when it names none), and how
//! old that data may be before `check` warns.

use super::file::RawTopology;
use super::{Code, Finding, ServerRole, SourceFile, Span, Topology, ZoneKind};
use crate::catalog::Feature;
use crate::endpoints::{Date, Snapshot};
use serde::Deserialize;
use serde_spanned::Spanned;
use std::path::Path;

/// `[hybrid]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHybrid {
    /// A snapshot written by `portplan endpoints import`, relative to the topology file.
    pub endpoints: Option<Spanned<String>>,
    /// Warn when the endpoint data is older than this many days (default 45).
    pub max_age_days: Option<Spanned<i64>>,
}

/// Hybrid as planned: the endpoint data in use and where it came from.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Hybrid {
    /// Its ranges appear in the plan as the `microsoft-365` members; not repeated here.
    #[serde(skip)]
    pub snapshot: Snapshot,
    /// The file the snapshot was read from, or "the built-in endpoint snapshot".
    pub from: String,
    pub max_age_days: i64,
    #[serde(skip)]
    pub span: Span,
}

const DEFAULT_MAX_AGE: i64 = 45;
/// A snapshot of the Skype area is a few kilobytes; the whole worldwide answer well under 1 MiB.
const SNAPSHOT_LIMIT: u64 = 16 << 20;

/// Reads `[hybrid]` (and `hybrid = true` under `[features]`), loading the snapshot it names;
/// problems are errors at their place in the file.
pub(super) fn resolve(source: &SourceFile, raw: &RawTopology, t: &mut Topology) -> Vec<Finding> {
    let mut out = Vec::new();
    let feature_on = t.has_feature(Feature::Hybrid);
    let Some(section) = raw
        .hybrid
        .as_ref()
        .map(|h| h.get_ref())
        .or(feature_on.then_some(&DEFAULT))
    else {
        return out;
    };
    let span = raw
        .hybrid
        .as_ref()
        .map(|h| h.span())
        .or_else(|| {
            t.feature_spans
                .iter()
                .find(|(f, _)| *f == Feature::Hybrid)
                .map(|(_, s)| s.clone())
        })
        .unwrap_or(0..0);
    let mut error = |code: Code, span: Span, message: String, help: &str| {
        out.push(
            Finding::error(code, message)
                .help(help.to_string())
                .at(source, Some(span)),
        );
    };
    if raw.hybrid.is_some()
        && t.feature_spans.iter().any(|(f, _)| *f == Feature::Hybrid)
        && !feature_on
    {
        error(
            Code::HybridOff,
            span,
            "`[hybrid]` is given but the feature `hybrid` is set to false".into(),
            "remove `hybrid = false` from [features], or the [hybrid] section",
        );
        return out;
    }
    if !t.pools.iter().any(|p| p.role == ServerRole::Edge) {
        error(
            Code::FeatureNeedsRole,
            span,
            "hybrid with Microsoft 365 runs through the Edge, and the topology has no Edge pool"
                .into(),
            "add the [[pool]] with role = \"edge\" that federates with Microsoft 365",
        );
        return out;
    }
    if !t.has_feature(Feature::Federation) {
        // Microsoft 365 and the on-premises deployment talk over the Access Edge's federation
        // route; features do not switch each other on, so this is refused like
        // ocs2007-federation without federation
        let federation_span = t
            .feature_spans
            .iter()
            .find(|(f, _)| *f == Feature::Federation)
            .map_or(span.clone(), |(_, s)| s.clone());
        error(
            Code::HybridNeedsFederation,
            federation_span,
            "hybrid with Microsoft 365 needs federation between the on-premises deployment and Microsoft 365, and the feature `federation` is off".into(),
            "set federation = true under [features]",
        );
        return out;
    }
    let max_age_days = match &section.max_age_days {
        Some(v) if *v.get_ref() < 1 => {
            error(
                Code::BadValue,
                v.span(),
                format!("max_age_days = {} is not a number of days", v.get_ref()),
                "a positive number of days, e.g. 45",
            );
            return out;
        }
        Some(v) => *v.get_ref(),
        None => DEFAULT_MAX_AGE,
    };
    let (snapshot, from) = match &section.endpoints {
        None => (
            Snapshot::built_in(),
            "the built-in endpoint snapshot".to_string(),
        ),
        Some(file) => {
            let base = Path::new(&source.name).parent().unwrap_or(Path::new("."));
            let path = base.join(file.get_ref());
            match read(&path) {
                Ok(s) => (s, path.display().to_string()),
                Err(why) => {
                    error(
                        Code::HybridEndpoints,
                        file.span(),
                        format!("cannot use the endpoint snapshot {}: {why}", path.display()),
                        "write it with `portplan endpoints import SAVED.json --version V -o FILE`; the path is relative to the topology file",
                    );
                    return out;
                }
            }
        }
    };
    if snapshot.address_sets().next().is_none() {
        error(
            Code::HybridEndpoints,
            span,
            format!("the endpoint data ({from}) has no Skype endpoint set with addresses"),
            "import a complete answer of the endpoint web service",
        );
        return out;
    }
    if let Some(finding) = overlap_with_topology(t, &snapshot, &from) {
        out.push(
            finding.at(
                source,
                Some(
                    section
                        .endpoints
                        .as_ref()
                        .map_or(span.clone(), |f| f.span()),
                ),
            ),
        );
        return out;
    }
    t.features.insert(Feature::Hybrid);
    t.hybrid = Some(Hybrid {
        snapshot,
        from,
        max_age_days,
        span,
    });
    out
}

/// An endpoint range that reaches into the deployment's own networks: a zone other than the
/// internet, or an address the topology gives a firewall interface. The plan would place such a
/// range inside that zone, and the hybrid rows would silently vanish or take odd paths.
fn overlap_with_topology(t: &Topology, snapshot: &Snapshot, from: &str) -> Option<Finding> {
    let overlaps =
        |a: &ipnet::IpNet, b: &ipnet::IpNet| a.contains(&b.network()) || b.contains(&a.network());
    for set in snapshot.address_sets() {
        for net in &set.ips {
            for zone in t.zones.iter().filter(|z| z.kind != ZoneKind::Internet) {
                if let Some(own) = zone.networks.iter().find(|n| overlaps(net, n)) {
                    return Some(
                        Finding::error(
                            Code::HybridEndpointsZone,
                            format!(
                                "the endpoint data ({from}) lists {net} (set {}) for Microsoft 365, which overlaps {own} of zone `{}`",
                                set.id, zone.name
                            ),
                        )
                        .help("Microsoft 365 is reached through the internet: fix the endpoint file, or the zone's networks".to_string()),
                    );
                }
            }
            for fw in &t.firewalls {
                for iface in &fw.interfaces {
                    if let Some(own) = iface.addresses.iter().find(|a| net.contains(&a.addr())) {
                        return Some(
                            Finding::error(
                                Code::HybridEndpointsZone,
                                format!(
                                    "the endpoint data ({from}) lists {net} (set {}) for Microsoft 365, which holds {}, the address of firewall `{}` interface `{}`",
                                    set.id,
                                    own.addr(),
                                    fw.name,
                                    iface.name
                                ),
                            )
                            .help("fix the endpoint file: a firewall's own address is not Microsoft 365".to_string()),
                        );
                    }
                }
            }
        }
    }
    None
}

static DEFAULT: RawHybrid = RawHybrid {
    endpoints: None,
    max_age_days: None,
};

fn read(path: &Path) -> Result<Snapshot, String> {
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(SNAPSHOT_LIMIT + 1).read_to_end(&mut bytes))
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > SNAPSHOT_LIMIT {
        return Err(format!("larger than {} MiB", SNAPSHOT_LIMIT >> 20));
    }
    let text = String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())?;
    Snapshot::parse(&text).map_err(|e| e.to_string())
}

/// The lint's word on hybrid: stale endpoint data, and which data is in use.
pub(super) fn lint(t: &Topology, today: Date) -> Vec<Finding> {
    let Some(h) = &t.hybrid else {
        return Vec::new();
    };
    let s = &h.snapshot;
    let version = s.version.as_ref().map_or("unknown", |v| v.as_str());
    let mut out = vec![
        Finding::info(
            Code::HybridEndpoints,
            format!(
                "Microsoft 365 addresses from {} (version {version}, published {}): {} range(s) of the Skype service area",
                h.from,
                s.published,
                t.endpoints(crate::catalog::Role::Microsoft365).len()
            ),
        )
        .at(&t.source, Some(h.span.clone())),
    ];
    let at = |f: Finding| f.at(&t.source, Some(h.span.clone()));
    for w in s.warnings() {
        out.push(at(Finding::warning(
            Code::HybridEndpoints,
            format!("{}: {w}", h.from),
        )));
    }
    if let Err(e) = s.check_date(today) {
        out.push(at(Finding::error(
            Code::HybridEndpointsAge,
            format!("{}: {e}", h.from),
        )
        .help(
            "import the data again with its real version (`portplan endpoints import --version`)"
                .to_string(),
        )));
        return out;
    }
    if let Some(w) = crate::endpoints::age_warning(s, today, h.max_age_days) {
        out.push(Finding::warning(Code::HybridEndpointsAge, w).at(&t.source, Some(h.span.clone())));
    }
    out
}
