//! Writing a plan (and the catalog) for people and for firewalls: the registry of output targets.
//!
//! Every output format is one module implementing the [`contract::Renderer`] trait; this module
//! lists them ([`Target`]) and holds the one caller, [`render_files`], which turns the user's
//! [`Scope`] into the units a target writes, runs the gates the target declares (once), names the
//! files and checks the names. The tables and labels people read come from [`crate::view`].

pub mod address_book;
mod aerleon;
mod asa;
pub mod contract;
mod haproxy;
mod iptables;
mod keepalived;
mod nftables;
mod nftables_lb;
mod nginx;
mod plan_file;
mod windows;

pub use contract::{Artifact, RenderError, Renderer};

use crate::plan::Plan;
use crate::topology::Topology;
use contract::{Subject, Unit};
use std::fmt;
use std::str::FromStr;

/// What part of the plan to render.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Scope {
    #[default]
    All,
    Firewall(String),
    Host(String),
}

/// Output formats of `portplan render --target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Nftables,
    Iptables,
    Windows,
    Asa,
    Aerleon,
    Nginx,
    Haproxy,
    NftablesLb,
    Keepalived,
    Table,
    Csv,
    Markdown,
    Json,
}

impl Target {
    pub const ALL: &'static [Target] = &[
        Target::Nftables,
        Target::Iptables,
        Target::Windows,
        Target::Asa,
        Target::Aerleon,
        Target::Nginx,
        Target::Haproxy,
        Target::NftablesLb,
        Target::Keepalived,
        Target::Table,
        Target::Csv,
        Target::Markdown,
        Target::Json,
    ];

    pub fn as_str(self) -> &'static str {
        self.renderer().name()
    }

    /// Whether the target always writes exactly one file (the plan as a table or JSON); the others
    /// write one file per firewall, host or pool, so `-o` names a directory for them.
    pub fn single_file(self) -> bool {
        self.renderer().units() == [Unit::Plan]
    }

    pub fn renderer(self) -> &'static dyn Renderer {
        match self {
            Target::Nftables => &nftables::Nftables,
            Target::Iptables => &iptables::Iptables,
            Target::Windows => &windows::Windows,
            Target::Asa => &asa::Asa,
            Target::Aerleon => &aerleon::Aerleon,
            Target::Nginx => &nginx::Nginx,
            Target::Haproxy => &haproxy::Haproxy,
            Target::NftablesLb => &nftables_lb::NftablesLb,
            Target::Keepalived => &keepalived::Keepalived,
            Target::Table => &plan_file::TEXT,
            Target::Csv => &plan_file::CSV,
            Target::Markdown => &plan_file::MARKDOWN,
            Target::Json => &plan_file::Json,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Target {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Target::ALL
            .iter()
            .copied()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| format!("unknown target `{s}`"))
    }
}

/// Renders the plan in one format, as one or more files: the one caller of every target.
///
/// In order: the scope must name something the topology has and be one the target's units take;
/// the gates the target declares run once (firewall paths, then the lint); the target renders each
/// unit the scope selects; the files are named `<directory><stem><suffix>` and every name must stay
/// inside the output directory. A target with no file to write is an error saying why.
pub fn render_files(
    plan: &Plan,
    topology: &Topology,
    target: Target,
    scope: &Scope,
) -> Result<Vec<Artifact>, RenderError> {
    let renderer = target.renderer();
    check_scope(topology, scope)?;
    let subjects = subjects(renderer, plan, topology, scope)?;
    if renderer.needs_firewall_paths() {
        refuse_findings(renderer, plan.path_findings().iter())?;
    }
    if renderer.needs_clean_lint() {
        let report = crate::topology::lint::lint(topology);
        refuse_findings(
            renderer,
            report
                .findings
                .iter()
                .filter(|f| f.severity == crate::topology::Severity::Error),
        )?;
    }
    let mut files = renderer.shared(plan, topology, &subjects)?;
    // who each file is for, to name both when two files would get the same name
    let mut owners: Vec<String> = files
        .iter()
        .map(|_| format!("the shared files of {}", renderer.name()))
        .collect();
    let pieces = renderer.render_all(plan, topology, &subjects)?;
    for (subject, pieces) in subjects.iter().zip(pieces) {
        for piece in pieces {
            let suffix = piece
                .companion
                .unwrap_or_else(|| renderer.suffix(subject.unit()));
            files.push(Artifact {
                file: format!("{}{}{suffix}", renderer.directory(), subject.stem()),
                text: piece.text,
            });
            owners.push(subject.describe());
        }
    }
    refuse_duplicate_names(renderer, &files, &owners)?;
    if files.is_empty() {
        return Err(RenderError::Nothing {
            target: renderer.name(),
            why: renderer.nothing_because(),
        });
    }
    for file in &files {
        if !is_plain_relative(&file.file) {
            return Err(RenderError::UnsafePath {
                path: file.file.clone(),
            });
        }
    }
    Ok(files)
}

/// Two files of one run may not share a name, nor differ only in case (Windows and macOS file
/// systems fold case, so one would overwrite the other there): the second would silently replace
/// the first. Names are compared after lower-casing.
fn refuse_duplicate_names(
    renderer: &dyn Renderer,
    files: &[Artifact],
    owners: &[String],
) -> Result<(), RenderError> {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (i, file) in files.iter().enumerate() {
        if let Some(&first) = seen.get(&file.file.to_lowercase()) {
            return Err(RenderError::SameFileName {
                target: renderer.name(),
                first: files[first].file.clone(),
                first_for: owners[first].clone(),
                second: file.file.clone(),
                second_for: owners[i].clone(),
            });
        }
        seen.insert(file.file.to_lowercase(), i);
    }
    Ok(())
}

/// The units of the target that the scope selects, in the target's order. A scope that names a
/// firewall or a host is refused by a target with no unit of that kind (nor the plan).
fn subjects<'a>(
    renderer: &dyn Renderer,
    plan: &'a Plan,
    topology: &'a Topology,
    scope: &'a Scope,
) -> Result<Vec<Subject<'a>>, RenderError> {
    let units = renderer.units();
    let takes = |unit| units.contains(&unit) || units.contains(&Unit::Plan);
    let taken = match scope {
        Scope::All => true,
        Scope::Firewall(_) => takes(Unit::Firewall),
        Scope::Host(_) => takes(Unit::Host),
    };
    if !taken {
        return Err(RenderError::NeedsScope {
            target: renderer.name(),
            what: renderer.scope_hint(),
        });
    }
    let mut out = Vec::new();
    for unit in units {
        match unit {
            Unit::Firewall => out.extend(
                topology
                    .firewalls
                    .iter()
                    .filter(|f| match scope {
                        Scope::All => true,
                        Scope::Firewall(name) => &f.name == name,
                        Scope::Host(_) => false,
                    })
                    .map(|f| Subject::Firewall(&f.name)),
            ),
            Unit::Host => out.extend(
                topology
                    .servers()
                    .filter(|(pool, server)| {
                        renderer.configures_host(pool, server)
                            && match scope {
                                Scope::All => true,
                                Scope::Host(name) => &server.name == name,
                                Scope::Firewall(_) => false,
                            }
                    })
                    .map(|(pool, server)| Subject::Host { pool, server }),
            ),
            Unit::Pool => out.extend(
                topology
                    .pools
                    .iter()
                    .filter(|pool| *scope == Scope::All && renderer.configures_pool(pool))
                    .map(Subject::Pool),
            ),
            Unit::Plan => out.push(Subject::Plan {
                rules: rules_in_scope(plan, scope).collect(),
            }),
        }
    }
    Ok(out)
}

/// Refuses to render when there is a finding, listing them all.
fn refuse_findings<'a>(
    renderer: &dyn Renderer,
    findings: impl Iterator<Item = &'a crate::topology::Finding>,
) -> Result<(), RenderError> {
    let lines: Vec<String> = findings
        .map(|f| format!("  {}: {}", f.code, f.message))
        .collect();
    if lines.is_empty() {
        return Ok(());
    }
    Err(RenderError::Refused {
        target: renderer.name(),
        findings: lines.join("\n"),
    })
}

/// A path that stays inside the directory it is joined to: relative, made only of ordinary
/// components (no `..`, no root, no drive), none of them hidden or holding control characters.
pub fn is_plain_relative(path: &str) -> bool {
    !path.is_empty()
        && !path.contains('\\')
        && path.split('/').all(|part| {
            !part.is_empty()
                && !part.starts_with('.')
                && !part.chars().any(|c| c.is_control() || c == ':')
        })
}

/// Renders the plan in one format as one text (see [`joined`]).
pub fn render(
    plan: &Plan,
    topology: &Topology,
    target: Target,
    scope: &Scope,
) -> Result<String, RenderError> {
    Ok(joined(render_files(plan, topology, target, scope)?))
}

/// Rendered files as one text: a single file as it is; several joined, each under a banner line
/// (`# ==> name <==`) so the output stays readable on a terminal.
pub fn joined(files: Vec<Artifact>) -> String {
    if files.len() == 1 {
        return files.into_iter().next().map(|a| a.text).unwrap_or_default();
    }
    files
        .iter()
        .map(|a| format!("# ==> {} <==\n{}", a.file, a.text))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Checks that a scope names something the topology has.
fn check_scope(topology: &Topology, scope: &Scope) -> Result<(), RenderError> {
    match scope {
        Scope::All => Ok(()),
        Scope::Firewall(name) if topology.firewall(name).is_some() => Ok(()),
        Scope::Firewall(name) => Err(RenderError::UnknownName {
            kind: "firewall",
            name: name.clone(),
            known: topology
                .firewalls
                .iter()
                .map(|f| f.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }),
        Scope::Host(name) if topology.servers().any(|(_, s)| &s.name == name) => Ok(()),
        Scope::Host(name) => Err(RenderError::UnknownName {
            kind: "server",
            name: name.clone(),
            known: topology
                .servers()
                .map(|(_, s)| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// Rules a scope selects (a host scope selects rules with the host at either end).
pub fn rules_in_scope<'a>(
    plan: &'a Plan,
    scope: &'a Scope,
) -> impl Iterator<Item = &'a crate::plan::Rule> + 'a {
    plan.rules.iter().filter(move |r| match scope {
        Scope::All => true,
        Scope::Firewall(f) => &r.firewall == f,
        Scope::Host(h) => {
            r.source.members.iter().any(|m| &m.host == h)
                || r.destination.members.iter().any(|m| &m.host == h)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_gate_guards_exactly_the_targets_that_need_it() {
        // load balancer and reverse proxy files that break the design are refused; network
        // firewalls refuse a plan whose flows some firewall path misses; the rest have neither
        let lint: Vec<&str> = Target::ALL
            .iter()
            .filter(|t| t.renderer().needs_clean_lint())
            .map(|t| t.as_str())
            .collect();
        assert_eq!(lint, ["nginx", "haproxy", "nftables-lb", "keepalived"]);
        let paths: Vec<&str> = Target::ALL
            .iter()
            .filter(|t| t.renderer().needs_firewall_paths())
            .map(|t| t.as_str())
            .collect();
        assert_eq!(paths, ["nftables", "iptables", "asa", "aerleon"]);
    }

    #[test]
    fn every_target_declares_its_units_suffixes_and_reasons() {
        for target in Target::ALL {
            let r = target.renderer();
            assert_eq!(target.to_string().parse::<Target>(), Ok(*target));
            assert!(!r.units().is_empty(), "{target}");
            for unit in r.units() {
                let suffix = r.suffix(*unit);
                assert!(
                    suffix.starts_with('.') || suffix.starts_with('-'),
                    "{target}: {suffix}"
                );
            }
            assert!(!r.scope_hint().is_empty() && !r.nothing_because().is_empty());
            // the plan files are the only single-file targets, and they take every scope
            assert_eq!(target.single_file(), r.units() == [Unit::Plan], "{target}");
        }
    }
}
