//! The topology's `version` key and what it allows: the product (Lync Server 2013, Skype for
//! Business Server 2015, 2019 or Subscription Edition) picks the catalog's tables, and features,
//! pools, partners and extra scenarios the version does not have are errors at their place in the
//! file, with the catalog's reason.

use super::file::RawTopology;
use super::{Code, Finding, SourceFile, Topology};
use crate::catalog::{Catalog, Feature, Version};

/// The version a file names; lync2013 when it names none (or one `check` reports as unknown).
pub(super) fn version_of(raw: &RawTopology) -> Version {
    raw.version
        .as_ref()
        .and_then(|v| v.get_ref().parse().ok())
        .unwrap_or_default()
}

/// Everything in the file its version does not have.
pub(super) fn check(source: &SourceFile, raw: &RawTopology, t: &Topology) -> Vec<Finding> {
    let catalog = Catalog::builtin();
    let mut out = Vec::new();
    let mut error = |code: Code, span, message: String, help: String| {
        out.push(
            Finding::error(code, message)
                .help(help)
                .at(source, Some(span)),
        );
    };
    if let Some(v) = &raw.version
        && let Err(e) = v.get_ref().parse::<Version>()
    {
        error(
            Code::UnknownVersion,
            v.span(),
            e,
            "leave `version` out for Lync Server 2013, or name the Skype for Business Server release"
                .into(),
        );
        return out;
    }
    let version = t.version;
    let title = version.description();
    let having = |has: &dyn Fn(Version) -> bool| -> String {
        let list: Vec<&str> = Version::ALL
            .iter()
            .filter(|v| has(**v))
            .map(|v| v.as_str())
            .collect();
        if list.is_empty() {
            "none".into()
        } else {
            list.join(", ")
        }
    };
    for (feature, span) in &t.feature_spans {
        if !t.features.contains(feature) {
            continue;
        }
        if let Some(why) = catalog.feature_unavailable(version, *feature) {
            error(
                Code::FeatureNotInVersion,
                span.clone(),
                format!(
                    "feature `{feature}` is not available in {title}: {} (source: {})",
                    why.reason, why.reference
                ),
                format!(
                    "set `{feature} = false`, or use a version that has it ({})",
                    having(&|v| catalog.feature_unavailable(v, *feature).is_none())
                ),
            );
        } else if needs_rows(*feature)
            && !catalog
                .rows_of_version(version)
                .any(|(_, r)| r.condition == Some(*feature))
        {
            error(
                Code::FeatureNotInVersion,
                span.clone(),
                format!(
                    "feature `{feature}` has no row in the {title} tables, so it would plan nothing{}",
                    match feature {
                        Feature::Ocs2007Federation =>
                            ": the Skype for Business Edge page drops the inbound 50000-59999 media rows only OCS 2007 partners needed",
                        Feature::PublicIm =>
                            ": the Skype for Business Edge page has no public IM table; its Access Edge SIP 5061 rows, which carry public IM, are planned with `federation`",
                        _ => "",
                    }
                ),
                format!(
                    "set `{feature} = false`{}",
                    if *feature == Feature::PublicIm {
                        " and `federation = true`"
                    } else {
                        ""
                    }
                ),
            );
        }
    }
    for pool in &raw.pools {
        let role = &pool.get_ref().role;
        let Ok(server_role) = role.get_ref().parse() else {
            continue; // validate reports the unknown role
        };
        if let Some(why) = catalog.role_unavailable(version, server_role) {
            error(
                Code::RoleNotInVersion,
                role.span(),
                format!(
                    "{} is not available in {title}: {} (source: {})",
                    super::finding::with_article(server_role.description()),
                    why.reason,
                    why.reference
                ),
                format!(
                    "remove the pool, or use a version that has it ({})",
                    having(&|v| catalog.role_unavailable(v, server_role).is_none())
                ),
            );
        }
    }
    if let Some(why) = catalog.feature_unavailable(version, Feature::Xmpp) {
        for partner in &raw.partners {
            if let Some(kind) = &partner.get_ref().kind
                && kind.get_ref() == "xmpp"
            {
                error(
                    Code::FeatureNotInVersion,
                    kind.span(),
                    format!(
                        "XMPP partners need XMPP federation, which is not available in {title}: {}",
                        why.reason
                    ),
                    "remove the partner, or use a version that has XMPP".into(),
                );
            }
        }
    }
    if let Some(list) = &raw.options.scenarios {
        for id in list {
            if let Some(s) = catalog.scenario(id.get_ref())
                && !s.applies_to(version)
            {
                let instead: Vec<&str> = s
                    .slot_ids()
                    .into_iter()
                    .filter_map(|slot| catalog.scenario_for(slot, version))
                    .map(|s| s.id.as_str())
                    .collect();
                error(
                    Code::ScenarioNotInVersion,
                    id.span(),
                    format!(
                        "scenario `{}` holds {} tables; this topology is {title}",
                        s.id,
                        s.versions
                            .iter()
                            .map(|v| v.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    if instead.is_empty() {
                        format!("{version} has no counterpart of it; remove it from `scenarios`")
                    } else {
                        format!("{version} uses {} instead", instead.join(", "))
                    },
                );
            }
        }
    }
    out
}

/// Features that only switch rows on (the others select scenarios of their own).
fn needs_rows(feature: Feature) -> bool {
    !matches!(feature, Feature::InternalServers)
}
