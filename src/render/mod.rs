//! Writing a plan (and the catalog) for people and for firewalls.
//!
//! Every output format is one module behind the [`Renderer`] trait: it gets the plan, the topology
//! and a [`Scope`] (one firewall, one host, or everything) and returns the text to write. The plan
//! tables themselves come from [`crate::view`].

pub mod address_book;
mod aerleon;
mod asa;
mod haproxy;
mod iptables;
mod keepalived;
mod nftables;
mod nftables_lb;
mod nginx;
mod views;
mod windows;

use crate::plan::Plan;
use crate::topology::Topology;
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

/// A render failed because the request does not fit the topology.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("target `{target}` needs {what}")]
    NeedsScope {
        target: &'static str,
        what: &'static str,
    },
    #[error("`{name}` is not a {kind} of the topology (it has: {known})")]
    UnknownName {
        kind: &'static str,
        name: String,
        known: String,
    },
    #[error("target `{target}` wrote nothing: {why}")]
    Nothing {
        target: &'static str,
        why: &'static str,
    },
    #[error("`{path}` is not a plain relative file name; refusing to write it")]
    UnsafePath { path: String },
    #[error("could not encode JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error(
        "refusing to write {target}: the topology breaks a requirement of the design:\n{findings}"
    )]
    Refused {
        target: &'static str,
        findings: String,
    },
}

/// One file of rendered output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// Suggested file name (e.g. `fw-external.nft`).
    pub file: String,
    pub text: String,
}

/// One output format.
pub trait Renderer {
    /// Target name as the CLI spells it.
    fn name(&self) -> &'static str;
    /// The files of this format for the scope (one per firewall or host where that is the unit).
    fn render(
        &self,
        plan: &Plan,
        topology: &Topology,
        scope: &Scope,
    ) -> Result<Vec<Artifact>, RenderError>;
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
        matches!(
            self,
            Target::Table | Target::Csv | Target::Markdown | Target::Json
        )
    }

    /// Network firewall targets: they would silently miss the rules of flows no firewall carries.
    fn filters_traffic(self) -> bool {
        matches!(
            self,
            Target::Nftables | Target::Iptables | Target::Asa | Target::Aerleon
        )
    }

    /// Refuses a scope the target cannot honour, rather than ignoring it.
    fn accepts(self, scope: &Scope) -> Result<(), RenderError> {
        let refuse = |what| {
            Err(RenderError::NeedsScope {
                target: self.as_str(),
                what,
            })
        };
        match (self, scope) {
            (_, Scope::All) => Ok(()),
            (Target::Nginx | Target::Haproxy, Scope::Firewall(_)) => refuse(
                "--host NAME of a reverse proxy server (or no scope); it configures proxies and pool VIPs, not firewalls",
            ),
            (Target::NftablesLb | Target::Keepalived, _) => refuse(
                "no --firewall or --host: it writes one file per hardware-balanced Edge pool",
            ),
            _ => Ok(()),
        }
    }

    /// Why the target can have nothing to write for a topology and scope.
    fn nothing_because(self) -> &'static str {
        match self {
            Target::Nftables | Target::Iptables | Target::Asa | Target::Aerleon => {
                "no firewall in scope has a planned rule"
            }
            Target::Windows => {
                "no Windows server (Front End, Director, Edge, Office Web Apps) in scope"
            }
            Target::Nginx => "no reverse proxy server in scope",
            Target::Haproxy => {
                "no reverse proxy server or hardware-balanced Director / Front End pool in scope"
            }
            Target::NftablesLb | Target::Keepalived => {
                "the topology has no hardware-balanced Edge pool with VIPs"
            }
            Target::Table | Target::Csv | Target::Markdown | Target::Json => "the plan is empty",
        }
    }

    pub fn renderer(self) -> Box<dyn Renderer> {
        match self {
            Target::Nftables => Box::new(nftables::Nftables),
            Target::Iptables => Box::new(iptables::Iptables),
            Target::Windows => Box::new(windows::Windows),
            Target::Asa => Box::new(asa::Asa),
            Target::Aerleon => Box::new(aerleon::Aerleon),
            Target::Nginx => Box::new(nginx::Nginx),
            Target::Haproxy => Box::new(haproxy::Haproxy),
            Target::NftablesLb => Box::new(nftables_lb::NftablesLb),
            Target::Keepalived => Box::new(keepalived::Keepalived),
            Target::Table | Target::Csv | Target::Markdown => Box::new(views::TableRenderer(self)),
            Target::Json => Box::new(views::JsonRenderer),
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

/// Renders the plan in one format, as one or more files.
pub fn render_files(
    plan: &Plan,
    topology: &Topology,
    target: Target,
    scope: &Scope,
) -> Result<Vec<Artifact>, RenderError> {
    check_scope(topology, scope)?;
    target.accepts(scope)?;
    if target.filters_traffic() {
        let missing = plan.path_findings();
        if !missing.is_empty() {
            return Err(RenderError::Refused {
                target: target.as_str(),
                findings: missing
                    .iter()
                    .map(|f| format!("  {}: {}", f.code, f.message))
                    .collect::<Vec<_>>()
                    .join("\n"),
            });
        }
    }
    let files = target.renderer().render(plan, topology, scope)?;
    if files.is_empty() {
        return Err(RenderError::Nothing {
            target: target.as_str(),
            why: target.nothing_because(),
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

/// Renders the plan in one format as one text; several files are joined, each under a banner line
/// (`# ==> name <==`) so the output stays readable on a terminal.
pub fn render(
    plan: &Plan,
    topology: &Topology,
    target: Target,
    scope: &Scope,
) -> Result<String, RenderError> {
    let files = render_files(plan, topology, target, scope)?;
    if files.len() == 1 {
        return Ok(files.into_iter().next().map(|a| a.text).unwrap_or_default());
    }
    Ok(files
        .iter()
        .map(|a| format!("# ==> {} <==\n{}", a.file, a.text))
        .collect::<Vec<_>>()
        .join("\n"))
}

/// The opening comment lines every generated file shares: what it is, for what, from which
/// topology and scenarios. `comment` is the platform's comment marker (`#`, `!`).
pub(crate) fn banner(comment: &str, what: &str, plan: &Plan, topology: &Topology) -> String {
    format!(
        "{comment} portplan: Lync Server 2013 / Skype for Business {what}\n{comment} topology `{}`, scenarios: {}\n",
        topology.name,
        plan.scenarios.join(", ")
    )
}

/// Load balancer and reverse proxy targets refuse a topology with lint errors (e.g. SNAT on the
/// A/V Edge VIP) rather than writing a configuration that breaks the design.
pub(crate) fn lint_gate(topology: &Topology, target: &'static str) -> Result<(), RenderError> {
    let report = crate::topology::lint::lint(topology);
    if !report.has_errors() {
        return Ok(());
    }
    let findings = report
        .findings
        .iter()
        .filter(|f| f.severity == crate::topology::Severity::Error)
        .map(|f| format!("  {}: {}", f.code, f.message))
        .collect::<Vec<_>>()
        .join("\n");
    Err(RenderError::Refused { target, findings })
}

/// The protocol/port entries of planned flows that end on any of `addrs`, in plan order.
pub(crate) fn services_towards(
    plan: &Plan,
    addrs: &[std::net::IpAddr],
) -> Vec<(crate::catalog::Transport, crate::catalog::PortRange)> {
    let mut out = Vec::new();
    for f in &plan.flows {
        if f.destination
            .members
            .iter()
            .any(|m| m.net.prefix_len() == m.net.max_prefix_len() && addrs.contains(&m.net.addr()))
        {
            let entry = (f.transport, f.ports);
            if !out.contains(&entry) {
                out.push(entry);
            }
        }
    }
    out
}

/// Firewalls a scope selects; host scopes are refused by firewall targets.
pub fn firewalls_in_scope(
    topology: &Topology,
    scope: &Scope,
    target: &'static str,
) -> Result<Vec<String>, RenderError> {
    match scope {
        Scope::All => Ok(topology.firewalls.iter().map(|f| f.name.clone()).collect()),
        Scope::Firewall(f) => Ok(vec![f.clone()]),
        Scope::Host(_) => Err(RenderError::NeedsScope {
            target,
            what: "--firewall NAME (or no scope); it writes network firewalls, not host firewalls",
        }),
    }
}

/// Checks that a scope names something the topology has.
pub fn check_scope(topology: &Topology, scope: &Scope) -> Result<(), RenderError> {
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
