//! The render contract: what an output target declares about itself and what it hands back.
//!
//! A target says which units it writes one output for ([`Unit`]: per firewall, per host, per
//! load-balanced pool, or one for the plan), the file suffix of each, and which gates the plan and
//! topology must pass before it writes anything (every flow carried by a firewall, a clean lint).
//! For each selected unit it returns [`Piece`]s of text. Choosing the units from the user's scope,
//! running the gates once and naming the files is the caller's job (`render::render_files`), so a
//! target never sees the scope and never runs the lint itself. Shared pieces every target may use
//! (the opening banner, the services towards a set of addresses) live here too.

use crate::catalog::{PortRange, Transport};
use crate::plan::{Plan, Rule};
use crate::topology::{Pool, Server, Topology};
use std::net::IpAddr;

/// What one output of a target is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// One output per firewall of the topology; `--firewall NAME` picks one.
    Firewall,
    /// One output per server the target configures; `--host NAME` picks one.
    Host,
    /// One output per pool the target balances; only written for the whole topology.
    Pool,
    /// One output for the whole plan; a scope narrows the rules it shows.
    Plan,
}

/// One unit the caller selected, handed to [`Renderer::render`].
#[derive(Debug, Clone)]
pub enum Subject<'a> {
    Firewall(&'a str),
    Host {
        pool: &'a Pool,
        server: &'a Server,
    },
    Pool(&'a Pool),
    /// The plan, with the rules the scope selects (all of them without a scope).
    Plan {
        rules: Vec<&'a Rule>,
    },
}

impl Subject<'_> {
    pub fn unit(&self) -> Unit {
        match self {
            Subject::Firewall(_) => Unit::Firewall,
            Subject::Host { .. } => Unit::Host,
            Subject::Pool(_) => Unit::Pool,
            Subject::Plan { .. } => Unit::Plan,
        }
    }

    /// The subject in words, for messages (`server `rp01` of pool `rp``).
    pub fn describe(&self) -> String {
        match self {
            Subject::Firewall(name) => format!("firewall `{name}`"),
            Subject::Host { pool, server } => {
                format!("server `{}` of pool `{}`", server.name, pool.name)
            }
            Subject::Pool(pool) => format!("pool `{}`", pool.name),
            Subject::Plan { .. } => "the plan".to_string(),
        }
    }

    /// The start of the subject's file names (the firewall, server or pool name; `plan`).
    pub fn stem(&self) -> &str {
        match self {
            Subject::Firewall(name) => name,
            Subject::Host { server, .. } => &server.name,
            Subject::Pool(pool) => &pool.name,
            Subject::Plan { .. } => "plan",
        }
    }
}

/// One text a target wrote for a subject. The caller names its file: the subject's stem, then the
/// target's suffix for the unit, or the companion suffix the piece carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub companion: Option<&'static str>,
    pub text: String,
}

impl Piece {
    /// The subject's file, named `<stem><suffix of the unit>`.
    pub fn main(text: String) -> Piece {
        Piece {
            companion: None,
            text,
        }
    }

    /// A file written beside the main one, named `<stem><suffix>` (iptables' `.ipset`).
    pub fn companion(suffix: &'static str, text: String) -> Piece {
        Piece {
            companion: Some(suffix),
            text,
        }
    }
}

/// One file of rendered output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// File name relative to the output directory (e.g. `fw-external.nft`).
    pub file: String,
    pub text: String,
}

/// A render failed because the request does not fit the topology, or the topology does not fit
/// the design.
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
    #[error(
        "target `{target}` would write two files with the same name (or names that differ only in case): `{first}` for {first_for} and `{second}` for {second_for}; rename one of them in the topology"
    )]
    SameFileName {
        target: &'static str,
        first: String,
        first_for: String,
        second: String,
        second_for: String,
    },
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

/// One output format, as the caller sees it.
pub trait Renderer: Sync {
    /// Target name as the CLI spells it.
    fn name(&self) -> &'static str;

    /// The units the target writes outputs for, in the order its files come out.
    fn units(&self) -> &'static [Unit];

    /// How the file of a subject of `unit` ends, after the stem (`.nft`, `-lb.nft`).
    fn suffix(&self, unit: Unit) -> &'static str;

    /// The directory (relative, ending in `/`) the subjects' files go in; none by default.
    fn directory(&self) -> &'static str {
        ""
    }

    /// Whether the topology must lint clean first: load balancer and reverse proxy files that break
    /// a requirement of the design (SNAT on the A/V VIP) are refused, not written.
    fn needs_clean_lint(&self) -> bool {
        false
    }

    /// Whether every planned flow must cross a firewall path first: a network firewall would
    /// silently miss the rules of the flows none carries.
    fn needs_firewall_paths(&self) -> bool {
        false
    }

    /// The scope the target takes, said when the user gives another (`--firewall NAME (or no
    /// scope); ...`).
    fn scope_hint(&self) -> &'static str;

    /// Why the target can have nothing to write for a topology and scope.
    fn nothing_because(&self) -> &'static str;

    /// For [`Unit::Host`]: whether the target writes a file for this server.
    fn configures_host(&self, _pool: &Pool, _server: &Server) -> bool {
        false
    }

    /// For [`Unit::Pool`]: whether the target writes a file for this pool.
    fn configures_pool(&self, _pool: &Pool) -> bool {
        false
    }

    /// Files shared by all the selected subjects, written before theirs (Aerleon's definitions),
    /// each with its full relative name.
    fn shared(
        &self,
        _plan: &Plan,
        _topology: &Topology,
        _selected: &[Subject<'_>],
    ) -> Result<Vec<Artifact>, RenderError> {
        Ok(Vec::new())
    }

    /// The texts for one subject; none when the subject turns out to need no file. `selected`
    /// holds every subject of the run (this one among them).
    fn render(
        &self,
        plan: &Plan,
        topology: &Topology,
        subject: &Subject<'_>,
        selected: &[Subject<'_>],
    ) -> Result<Vec<Piece>, RenderError>;

    /// The texts for every selected subject, in their order: [`Renderer::render`] of each unless
    /// the target overrides it to look the plan up once per run rather than once per subject.
    fn render_all(
        &self,
        plan: &Plan,
        topology: &Topology,
        selected: &[Subject<'_>],
    ) -> Result<Vec<Vec<Piece>>, RenderError> {
        selected
            .iter()
            .map(|s| self.render(plan, topology, s, selected))
            .collect()
    }
}

/// The scope network firewall targets take ([`Renderer::scope_hint`]).
pub(crate) const FIREWALL_SCOPE: &str =
    "--firewall NAME (or no scope); it writes network firewalls, not host firewalls";

/// Why a network firewall target has nothing to write ([`Renderer::nothing_because`]).
pub(crate) const NO_FIREWALL_RULE: &str = "no firewall in scope has a planned rule";

/// The scope the Edge pool load balancer targets take: none.
pub(crate) const EDGE_POOL_SCOPE: &str =
    "no --firewall or --host: it writes one file per hardware-balanced Edge pool";

/// Why an Edge pool load balancer target has nothing to write.
pub(crate) const NO_BALANCED_EDGE_POOL: &str =
    "the topology has no hardware-balanced Edge pool with VIPs";

/// The pools an Edge pool load balancer target writes a file for
/// ([`Renderer::configures_pool`]): Edge pools with load balancer VIPs.
pub(crate) fn is_balanced_edge_pool(pool: &Pool) -> bool {
    pool.role == crate::catalog::ServerRole::Edge && !pool.vips.is_empty()
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

/// The protocol/port entries of planned flows that end on any of `addrs`, in plan order.
pub(crate) fn services_towards(plan: &Plan, addrs: &[IpAddr]) -> Vec<(Transport, PortRange)> {
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
