//! The command line as clap parses it (raw arguments), and the settings derived from it before
//! any work: the scope a `--firewall`/`--host` pair names, the plan target a `--format` asks for,
//! the roles, versions and scenario a command names. A handler receives settings that are already
//! valid; what can only be checked against a topology (a firewall or server name) waits for it.

use super::output::{CATALOG, CHECK, DIAGRAM, Format, TABLE_OR_JSON, TABLES, formats};
use anyhow::anyhow;
use clap::{Args, Parser, Subcommand};
use portplan::catalog::{Catalog, Version};
use portplan::plan::between::RoleQuery;
use portplan::render::{Scope, Target};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "portplan",
    version,
    about = "Lync Server 2013 / Skype for Business firewall port requirements as verified policy",
    long_about = "portplan turns the port tables of the Lync Server 2013 port summaries into firewall \
policy for a real deployment: it lists the catalog, checks a topology file against the load balancer \
requirements, compiles the plan of concrete rules, and renders it for firewalls and reviews.\n\n\
Every command that takes a topology FILE uses the built-in reference topology when FILE is left out.",
    after_help = "Exit codes: 0 success, 1 findings (lint errors), 2 unusable input."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Print the port catalog: every row of every port table portplan encodes
    Catalog(CatalogArgs),
    /// Validate a topology and lint it against the load balancer requirements
    Check(CheckArgs),
    /// Compile the topology into concrete firewall rules
    Plan(PlanArgs),
    /// Write the plan in an output format
    Render(RenderArgs),
    /// Answer on every port this host must receive (run it before Lync is installed)
    Listen(ListenArgs),
    /// Test every flow this host must be able to open, and print the verdict matrix
    Probe(ProbeArgs),
    /// Which ports between two roles (catalog) or two servers/pools (with a topology), and why
    Between(BetweenArgs),
    /// Audit an existing firewall configuration against the plan
    Audit(AuditArgs),
    /// Draw the deployment: zones, firewalls, pools, VIPs and the planned flows
    Diagram(DiagramArgs),
    /// Write a self-contained HTML report (plan, diagram, checks; audit and probe results if given)
    Report(ReportArgs),
    /// Microsoft 365 endpoint data for hybrid: show the snapshot in use, import a saved copy, compare two
    #[command(subcommand)]
    Endpoints(EndpointsCommand),
    /// Print the built-in reference topology (a starting point for your own)
    Example,
    /// Print a shell completion script
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff)
    Man,
}

#[derive(Args)]
pub struct CatalogArgs {
    /// Only this scenario (e.g. edge-consolidated-hlb); without an ID, list the scenarios
    #[arg(long, value_name = "ID", num_args = 0..=1, default_missing_value = "")]
    pub scenario: Option<String>,
    #[arg(long, value_parser = formats(CATALOG), default_value = "table")]
    pub format: Format,
    /// Compare two versions' tables: rows added, removed and changed (e.g. lync2013 sfb2019)
    #[arg(long, num_args = 2, value_names = ["FROM", "TO"], conflicts_with = "scenario")]
    pub compare: Option<Vec<String>>,
}

#[derive(Args)]
pub struct TopologyArg {
    /// Topology file (TOML); the built-in reference topology when omitted
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
}

#[derive(Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub topology: TopologyArg,
    #[arg(long, value_parser = formats(CHECK), default_value = "text")]
    pub format: Format,
}

#[derive(Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub topology: TopologyArg,
    /// Only the rules of this firewall
    #[arg(long, value_name = "NAME")]
    pub firewall: Option<String>,
    #[arg(long, value_parser = formats(TABLES), default_value = "table")]
    pub format: Format,
    /// Also list the catalog rows left out and why (feature off, role missing)
    #[arg(long)]
    pub explain: bool,
    /// Also list flows that cross no firewall
    #[arg(long)]
    pub all: bool,
}

#[derive(Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub topology: TopologyArg,
    /// Output format
    #[arg(long, value_parser = target_parser())]
    pub target: Target,
    /// Only this firewall's rules
    #[arg(long, value_name = "NAME", conflicts_with = "host")]
    pub firewall: Option<String>,
    /// Only the rules of this server (host firewall targets)
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
    /// Write to this file instead of standard output; a directory when the target writes one file
    /// per firewall or host (created if missing)
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
}

/// `--target` values come from the library's list, so help, completions and the man page show them.
pub fn target_parser() -> impl clap::builder::TypedValueParser<Value = Target> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(Target::ALL.iter().map(|t| t.as_str()))
        .map(|name| name.parse::<Target>().expect("listed targets parse"))
}

#[derive(Args)]
pub struct ListenArgs {
    #[command(flatten)]
    pub topology: TopologyArg,
    /// The server this runs on (a server name of the topology)
    #[arg(long, value_name = "NAME")]
    pub host: String,
    /// Listen on the wildcard address instead of each planned address
    #[arg(long)]
    pub bind_all: bool,
    /// Answer TLS handshakes on TLS ports with a throwaway self-signed certificate
    #[arg(long)]
    pub tls: bool,
    /// Listen on every port of a range (default: the first, middle and last port, as probe tests)
    #[arg(long)]
    pub full_ranges: bool,
}

#[derive(Args)]
pub struct ProbeArgs {
    #[command(flatten)]
    pub topology: TopologyArg,
    /// Where the probes start: a server, a client network, or a zone (for `any` flows)
    #[arg(long, value_name = "NAME")]
    pub from: String,
    /// How long to wait for an answer, in milliseconds
    #[arg(long, value_name = "MS", default_value_t = 1500, value_parser = clap::value_parser!(u64).range(10..=60_000))]
    pub timeout: u64,
    /// Probes in flight at once
    #[arg(long, value_name = "N", default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub concurrency: u64,
    /// Probes started per second
    #[arg(long, value_name = "PER_SECOND", default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub rate: u32,
    /// The host to contact inside a network destination (e.g. a Microsoft 365 range): a network of
    /// the plan or a destination role, `=`, an address inside it; repeatable, one per network
    #[arg(long, value_name = "NETWORK=ADDRESS")]
    pub dial: Vec<portplan::probe::targets::Dial>,
    #[arg(long, value_parser = formats(TABLE_OR_JSON), default_value = "table")]
    pub format: Format,
}

#[derive(Args)]
pub struct BetweenArgs {
    /// A role (edge.internal, director.vip, …) or server role (edge, director, front-end, …); with
    /// --topology also a server, pool, client network or zone name
    pub a: String,
    /// The other end
    pub b: String,
    /// Answer from this topology's plan (addresses, firewalls) instead of the catalog alone
    #[arg(long, value_name = "FILE")]
    pub topology: Option<PathBuf>,
    /// The product whose catalog rows to answer from, without --topology (lync2013, sfb2015, sfb2019, sfbse)
    #[arg(
        long,
        value_name = "VERSION",
        default_value = "lync2013",
        conflicts_with = "topology"
    )]
    pub version: String,
    #[arg(long, value_parser = formats(TABLES), default_value = "table")]
    pub format: Format,
}

#[derive(Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub topology: TopologyArg,
    /// The firewall of the topology the configuration belongs to
    #[arg(long, value_name = "NAME")]
    pub firewall: String,
    /// The configuration to audit
    #[arg(long, value_name = "PATH")]
    pub config: PathBuf,
    /// Its format
    #[arg(long, value_parser = audit_format_parser())]
    pub format: portplan::audit::Format,
    #[arg(long, value_parser = formats(TABLE_OR_JSON), default_value = "table")]
    pub format_out: Format,
}

pub fn audit_format_parser() -> impl clap::builder::TypedValueParser<Value = portplan::audit::Format>
{
    use clap::builder::TypedValueParser;
    use portplan::audit::Format;
    clap::builder::PossibleValuesParser::new(Format::ALL.iter().map(|f| f.as_str()))
        .map(|name| name.parse::<Format>().expect("listed formats parse"))
}

#[derive(Args)]
pub struct DiagramArgs {
    #[command(flatten)]
    pub topology: TopologyArg,
    #[arg(long, value_parser = formats(DIAGRAM), default_value = "svg")]
    pub format: Format,
    /// Leave out the flows that only features switched off would add (drawn dashed otherwise)
    #[arg(long)]
    pub hide_optional: bool,
    /// Write to this file instead of standard output
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
}

#[derive(Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub topology: TopologyArg,
    /// The HTML file to write
    #[arg(short, long, value_name = "PATH")]
    pub output: PathBuf,
    /// Include an audit (`portplan audit --format-out json` output)
    #[arg(long, value_name = "AUDIT.json")]
    pub audit: Option<PathBuf>,
    /// Include a probe matrix (`portplan probe --format json` output)
    #[arg(long, value_name = "PROBE.json")]
    pub probe: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum EndpointsCommand {
    /// Print a snapshot (the built-in one without FILE): version, age, and each endpoint set
    Show {
        /// A snapshot written by `endpoints import`
        file: Option<PathBuf>,
        /// Warn when the data is older than this many days
        #[arg(long, value_name = "DAYS", default_value_t = 45)]
        max_age: i64,
    },
    /// Read the endpoint web service's JSON saved by you and write portplan's snapshot of the Skype area
    Import {
        /// The saved answer of the endpoints method (all service areas, or Skype only)
        file: PathBuf,
        /// Its data version (YYYYMMDDNN: the version method's `latest`)
        #[arg(long, value_name = "YYYYMMDDNN")]
        version: Option<String>,
        /// The snapshot file to write
        #[arg(short, long, value_name = "PATH")]
        output: PathBuf,
    },
    /// Which endpoint sets changed addresses, ports or category between two snapshots or saved answers
    Diff {
        old: PathBuf,
        new: PathBuf,
        /// Version of OLD when it is a raw web service answer
        #[arg(long, value_name = "YYYYMMDDNN")]
        old_version: Option<String>,
        /// Version of NEW when it is a raw web service answer
        #[arg(long, value_name = "YYYYMMDDNN")]
        new_version: Option<String>,
        #[arg(long, value_parser = formats(TABLE_OR_JSON), default_value = "table")]
        format: Format,
    },
}

impl PlanArgs {
    /// The plan target `--format` names (the same tables and JSON `render` writes).
    pub fn target(&self) -> Target {
        match self.format {
            Format::Json => Target::Json,
            Format::Csv => Target::Csv,
            Format::Markdown => Target::Markdown,
            _ => Target::Table,
        }
    }

    /// The rules asked for: one firewall's, or all.
    pub fn scope(&self) -> Scope {
        match &self.firewall {
            Some(name) => Scope::Firewall(name.clone()),
            None => Scope::All,
        }
    }
}

impl RenderArgs {
    /// The part of the plan to render (clap already refuses `--firewall` with `--host`).
    pub fn scope(&self) -> Scope {
        match (&self.firewall, &self.host) {
            (Some(f), _) => Scope::Firewall(f.clone()),
            (_, Some(h)) => Scope::Host(h.clone()),
            _ => Scope::All,
        }
    }
}

/// What `catalog` is asked for, checked.
pub enum CatalogJob {
    /// The rows two versions differ in, as a table or JSON.
    Compare {
        from: Version,
        to: Version,
        format: Format,
    },
    /// The list of scenarios.
    Scenarios(Format),
    /// The rows, of one known scenario or of all.
    Rows {
        scenario: Option<String>,
        format: Format,
    },
}

impl CatalogArgs {
    /// The versions of `--compare` must be known and its format a table or JSON; a `--scenario`
    /// must be one of the catalog's.
    pub fn settings(self) -> anyhow::Result<CatalogJob> {
        let format = self.format;
        if let Some(pair) = &self.compare {
            let version = |v: &String| v.parse::<Version>().map_err(|e| anyhow!(e));
            let (from, to) = (version(&pair[0])?, version(&pair[1])?);
            if !matches!(format, Format::Json | Format::Table) {
                return Err(anyhow!("--compare prints as table or json"));
            }
            return Ok(CatalogJob::Compare { from, to, format });
        }
        // the TOML is the embedded data file as shipped: the whole catalog or nothing
        if format == Format::Toml && self.scenario.is_some() {
            return Err(anyhow!(
                "--format toml prints the whole embedded catalog file; it cannot be narrowed with --scenario (use --format json, csv, markdown or table)"
            ));
        }
        match self.scenario {
            Some(id) if id.is_empty() => Ok(CatalogJob::Scenarios(format)),
            Some(id) => {
                let catalog = Catalog::builtin();
                if catalog.scenario(&id).is_none() {
                    let known: Vec<&str> =
                        catalog.scenarios.iter().map(|s| s.id.as_str()).collect();
                    return Err(anyhow!(
                        "unknown scenario `{id}`; known: {}",
                        known.join(", ")
                    ));
                }
                Ok(CatalogJob::Rows {
                    scenario: Some(id),
                    format,
                })
            }
            None => Ok(CatalogJob::Rows {
                scenario: None,
                format,
            }),
        }
    }
}

/// `between`, checked: the two ends as given, where the answer comes from, the format.
pub struct Between {
    pub a: String,
    pub b: String,
    pub source: BetweenSource,
    pub format: Format,
}

/// Where `between` answers from.
pub enum BetweenSource {
    /// The catalog rows of one product, between two roles.
    Catalog {
        a: RoleQuery,
        b: RoleQuery,
        version: Version,
    },
    /// The plan of a topology, between two of its names (checked once it is loaded).
    Topology(TopologyArg),
}

impl BetweenArgs {
    /// Without a topology both ends must be roles and the version a known one.
    pub fn settings(self) -> anyhow::Result<Between> {
        let source = match self.topology {
            Some(path) => BetweenSource::Topology(TopologyArg { file: Some(path) }),
            None => BetweenSource::Catalog {
                a: RoleQuery::parse(&self.a).map_err(|e| anyhow!(e))?,
                b: RoleQuery::parse(&self.b).map_err(|e| anyhow!(e))?,
                version: self.version.parse().map_err(|e: String| anyhow!(e))?,
            },
        };
        Ok(Between {
            a: self.a,
            b: self.b,
            source,
            format: self.format,
        })
    }
}
