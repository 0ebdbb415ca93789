//! The `portplan` command line: parse arguments, call the library, print. Nothing else lives here.
//!
//! Exit codes: 0 success; 1 the job ran and found something wrong (lint errors, blocked flows);
//! 2 the input could not be used (bad arguments, unreadable or invalid files).

use anyhow::{Context, Result, anyhow};
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use portplan::catalog::{Catalog, Version};
use portplan::plan;
use portplan::render::{self, Scope, Target};
use portplan::topology::{self, Severity, Topology, named_report};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the port catalog: every row of every seed port table
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

#[derive(Clone, Copy, ValueEnum)]
enum CatalogFormat {
    Table,
    Json,
    Csv,
    Markdown,
    /// The embedded data file itself
    Toml,
}

#[derive(Args)]
struct CatalogArgs {
    /// Only this scenario (e.g. edge-consolidated-hlb); without an ID, list the scenarios
    #[arg(long, value_name = "ID", num_args = 0..=1, default_missing_value = "")]
    scenario: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    format: CatalogFormat,
    /// Compare two versions' tables: rows added, removed and changed (e.g. lync2013 sfb2019)
    #[arg(long, num_args = 2, value_names = ["FROM", "TO"], conflicts_with = "scenario")]
    compare: Option<Vec<String>>,
}

#[derive(Args)]
struct TopologyArg {
    /// Topology file (TOML); the built-in reference topology when omitted
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum CheckFormat {
    Text,
    Json,
}

#[derive(Args)]
struct CheckArgs {
    #[command(flatten)]
    topology: TopologyArg,
    #[arg(long, value_enum, default_value = "text")]
    format: CheckFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum PlanFormat {
    Table,
    Json,
    Csv,
    Markdown,
}

#[derive(Args)]
struct PlanArgs {
    #[command(flatten)]
    topology: TopologyArg,
    /// Only the rules of this firewall
    #[arg(long, value_name = "NAME")]
    firewall: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    format: PlanFormat,
    /// Also list the catalog rows left out and why (feature off, role missing)
    #[arg(long)]
    explain: bool,
    /// Also list flows that cross no firewall
    #[arg(long)]
    all: bool,
}

#[derive(Args)]
struct RenderArgs {
    #[command(flatten)]
    topology: TopologyArg,
    /// Output format
    #[arg(long, value_parser = target_parser())]
    target: Target,
    /// Only this firewall's rules
    #[arg(long, value_name = "NAME", conflicts_with = "host")]
    firewall: Option<String>,
    /// Only the rules of this server (host firewall targets)
    #[arg(long, value_name = "NAME")]
    host: Option<String>,
    /// Write to this file instead of standard output; a directory when the target writes one file
    /// per firewall or host (created if missing)
    #[arg(short, long, value_name = "PATH")]
    output: Option<PathBuf>,
}

/// `--target` values come from the library's list, so help, completions and the man page show them.
fn target_parser() -> impl clap::builder::TypedValueParser<Value = Target> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(Target::ALL.iter().map(|t| t.as_str()))
        .map(|name| name.parse::<Target>().expect("listed targets parse"))
}

#[derive(Args)]
struct ListenArgs {
    #[command(flatten)]
    topology: TopologyArg,
    /// The server this runs on (a server name of the topology)
    #[arg(long, value_name = "NAME")]
    host: String,
    /// Listen on the wildcard address instead of each planned address
    #[arg(long)]
    bind_all: bool,
    /// Answer TLS handshakes on TLS ports with a throwaway self-signed certificate
    #[arg(long)]
    tls: bool,
    /// Listen on every port of a range (default: the first, middle and last port, as probe tests)
    #[arg(long)]
    full_ranges: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum ProbeFormat {
    Table,
    Json,
}

#[derive(Args)]
struct ProbeArgs {
    #[command(flatten)]
    topology: TopologyArg,
    /// Where the probes start: a server, a client network, or a zone (for `any` flows)
    #[arg(long, value_name = "NAME")]
    from: String,
    /// How long to wait for an answer, in milliseconds
    #[arg(long, value_name = "MS", default_value_t = 1500, value_parser = clap::value_parser!(u64).range(10..=60_000))]
    timeout: u64,
    /// Probes in flight at once
    #[arg(long, value_name = "N", default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=1024))]
    concurrency: u64,
    /// Probes started per second
    #[arg(long, value_name = "PER_SECOND", default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    rate: u32,
    #[arg(long, value_enum, default_value = "table")]
    format: ProbeFormat,
}

#[derive(Args)]
struct BetweenArgs {
    /// A role (edge.internal, director.vip, …) or server role (edge, director, front-end, …); with
    /// --topology also a server, pool, client network or zone name
    a: String,
    /// The other end
    b: String,
    /// Answer from this topology's plan (addresses, firewalls) instead of the catalog alone
    #[arg(long, value_name = "FILE")]
    topology: Option<PathBuf>,
    /// The product whose catalog rows to answer from, without --topology (lync2013, sfb2015, sfb2019, sfbse)
    #[arg(
        long,
        value_name = "VERSION",
        default_value = "lync2013",
        conflicts_with = "topology"
    )]
    version: String,
    #[arg(long, value_enum, default_value = "table")]
    format: PlanFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum AuditOut {
    Table,
    Json,
}

#[derive(Args)]
struct AuditArgs {
    #[command(flatten)]
    topology: TopologyArg,
    /// The firewall of the topology the configuration belongs to
    #[arg(long, value_name = "NAME")]
    firewall: String,
    /// The configuration to audit
    #[arg(long, value_name = "PATH")]
    config: PathBuf,
    /// Its format
    #[arg(long, value_parser = audit_format_parser())]
    format: portplan::audit::Format,
    #[arg(long, value_enum, default_value = "table")]
    format_out: AuditOut,
}

fn audit_format_parser() -> impl clap::builder::TypedValueParser<Value = portplan::audit::Format> {
    use clap::builder::TypedValueParser;
    use portplan::audit::Format;
    clap::builder::PossibleValuesParser::new(Format::ALL.iter().map(|f| f.as_str()))
        .map(|name| name.parse::<Format>().expect("listed formats parse"))
}

#[derive(Clone, Copy, ValueEnum)]
enum DiagramFormat {
    Svg,
    Dot,
}

#[derive(Args)]
struct DiagramArgs {
    #[command(flatten)]
    topology: TopologyArg,
    #[arg(long, value_enum, default_value = "svg")]
    format: DiagramFormat,
    /// Leave out the flows that only features switched off would add (drawn dashed otherwise)
    #[arg(long)]
    hide_optional: bool,
    /// Write to this file instead of standard output
    #[arg(short, long, value_name = "PATH")]
    output: Option<PathBuf>,
}

#[derive(Args)]
struct ReportArgs {
    #[command(flatten)]
    topology: TopologyArg,
    /// The HTML file to write
    #[arg(short, long, value_name = "PATH")]
    output: PathBuf,
    /// Include an audit (`portplan audit --format-out json` output)
    #[arg(long, value_name = "AUDIT.json")]
    audit: Option<PathBuf>,
    /// Include a probe matrix (`portplan probe --format json` output)
    #[arg(long, value_name = "PROBE.json")]
    probe: Option<PathBuf>,
}

/// How a command ended when it did not simply succeed.
enum Failure {
    /// The job ran and found problems (exit 1).
    Findings,
    /// The input could not be used (exit 2); already reported when `None`.
    Input(Option<anyhow::Error>),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Input(Some(e))
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Findings) => ExitCode::from(1),
        Err(Failure::Input(e)) => {
            if let Some(e) = e {
                eprintln!("portplan: {e:#}");
            }
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Catalog(args) => catalog(args),
        Command::Check(args) => check(args),
        Command::Plan(args) => plan_cmd(args),
        Command::Render(args) => render_cmd(args),
        Command::Listen(args) => listen(args),
        Command::Probe(args) => probe(args),
        Command::Between(args) => between(args),
        Command::Audit(args) => audit(args),
        Command::Diagram(args) => diagram(args),
        Command::Report(args) => report(args),
        Command::Endpoints(cmd) => endpoints(cmd),
        Command::Example => out(Topology::reference_source()),
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "portplan", &mut buf);
            out(&String::from_utf8_lossy(&buf))
        }
        Command::Man => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut buf)
                .context("rendering the man page")?;
            out(&String::from_utf8_lossy(&buf))
        }
    }
}

/// Writes to stdout; a reader that went away (`| head`) is not an error.
fn out(text: &str) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
    {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(anyhow!(e).context("writing to standard output").into()),
    }
}

/// Loads the topology named on the command line (or the built-in one); problems are printed with
/// their place in the file and end the command with exit code 2.
/// The largest topology file portplan reads (a thousand-pool topology is well under 1 MiB).
const TOPOLOGY_LIMIT: u64 = 16 << 20;
/// The largest firewall configuration `audit` reads (a 100,000-rule iptables-save is about 8 MiB).
const CONFIG_LIMIT: u64 = 64 << 20;

/// Reads a text file, refusing one larger than `limit` bytes (a device such as /dev/zero
/// included) instead of reading until memory runs out. Invalid UTF-8 is kept as U+FFFD.
fn read_limited(path: &Path, limit: u64, what: &str) -> Result<String, Failure> {
    use std::io::Read;
    // a named pipe with no writer would block the open forever: only standard input may be one
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let stdin = matches!(path.to_str(), Some("/dev/stdin" | "/proc/self/fd/0" | "-"));
        if let Ok(meta) = std::fs::metadata(path)
            && (meta.file_type().is_fifo() || meta.file_type().is_socket())
            && !stdin
        {
            return Err(anyhow!(
                "{what} {} is a named pipe or socket, not a file; give a file, or /dev/stdin",
                path.display()
            )
            .into());
        }
    }
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    if bytes.len() as u64 > limit {
        return Err(anyhow!(
            "{what} {} is larger than {} MiB; portplan does not read it",
            path.display(),
            limit >> 20
        )
        .into());
    }
    Ok(match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

fn load(arg: &TopologyArg) -> Result<Topology, Failure> {
    let Some(path) = &arg.file else {
        return Ok(Topology::reference());
    };
    let text = read_limited(path, TOPOLOGY_LIMIT, "topology file")?;
    Topology::parse(&path.display().to_string(), &text).map_err(|err| {
        for problem in &err.problems {
            eprintln!("{:?}", named_report(problem));
        }
        eprintln!("portplan: {err}");
        Failure::Input(None)
    })
}

fn catalog(args: CatalogArgs) -> Result<(), Failure> {
    let catalog = Catalog::builtin();
    if let Some(pair) = &args.compare {
        let version = |v: &String| v.parse::<Version>().map_err(|e| anyhow!(e));
        let c =
            portplan::catalog::compare::compare(catalog, version(&pair[0])?, version(&pair[1])?);
        return out(&match args.format {
            CatalogFormat::Json => {
                serde_json::to_string_pretty(&c).context("encoding JSON")? + "\n"
            }
            CatalogFormat::Table => c.to_string(),
            _ => return Err(anyhow!("--compare prints as table or json").into()),
        });
    }
    if args.scenario.as_deref() == Some("") {
        let table = render::scenario_table(catalog);
        let text = match args.format {
            CatalogFormat::Csv => table.to_csv(),
            CatalogFormat::Markdown => table.to_markdown(),
            CatalogFormat::Json => {
                serde_json::to_string_pretty(&catalog.scenarios).context("encoding JSON")? + "\n"
            }
            CatalogFormat::Table | CatalogFormat::Toml => table.to_text(),
        };
        return out(&text);
    }
    if let Some(id) = &args.scenario
        && catalog.scenario(id).is_none()
    {
        let known: Vec<&str> = catalog.scenarios.iter().map(|s| s.id.as_str()).collect();
        return Err(anyhow!("unknown scenario `{id}`; known: {}", known.join(", ")).into());
    }
    let scenario = args.scenario.as_deref();
    let text = match args.format {
        CatalogFormat::Table => render::catalog_table(catalog, scenario).to_text(),
        CatalogFormat::Csv => render::catalog_table(catalog, scenario).to_csv(),
        CatalogFormat::Markdown => render::catalog_table(catalog, scenario).to_markdown(),
        CatalogFormat::Json => render::catalog_json(catalog, scenario).context("encoding JSON")?,
        CatalogFormat::Toml => Catalog::builtin_source().to_string(),
    };
    out(&text)
}

fn check(args: CheckArgs) -> Result<(), Failure> {
    // with --format json an invalid topology is a JSON answer too (exit 2), not only stderr
    if let (CheckFormat::Json, Some(path)) = (args.format, &args.topology.file) {
        let text = read_limited(path, TOPOLOGY_LIMIT, "topology file")?;
        if let Err(err) = Topology::parse(&path.display().to_string(), &text) {
            #[derive(serde::Serialize)]
            struct Invalid<'a> {
                topology: &'a str,
                valid: bool,
                findings: &'a [topology::Finding],
            }
            let json = serde_json::to_string_pretty(&Invalid {
                topology: &err.file,
                valid: false,
                findings: &err.problems,
            })
            .context("encoding JSON")?;
            out(&(json + "\n"))?;
            return Err(Failure::Input(Some(anyhow!("{err}"))));
        }
    }
    let topology = load(&args.topology)?;
    let mut report = topology::lint::lint(&topology);
    let plan = plan::compile(&topology);
    let unrouted = plan.unrouted_flows().count();
    report.findings.extend(plan.path_findings());
    report.findings.extend(doubt_finding(&plan, &topology));
    match args.format {
        CheckFormat::Json => {
            #[derive(serde::Serialize)]
            struct CheckJson<'a> {
                topology: &'a str,
                valid: bool,
                scenarios: &'a [String],
                findings: &'a [topology::Finding],
                public_addresses: &'a [topology::lint::PublicAddressCount],
                rules: usize,
                unrouted_flows: usize,
            }
            let json = serde_json::to_string_pretty(&CheckJson {
                topology: &topology.name,
                valid: true,
                scenarios: &plan.scenarios,
                findings: &report.findings,
                public_addresses: &report.public_addresses,
                rules: plan.rules.len(),
                unrouted_flows: unrouted,
            })
            .context("encoding JSON")?;
            out(&(json + "\n"))?;
        }
        CheckFormat::Text => {
            for finding in &report.findings {
                eprintln!("{:?}", named_report(finding));
            }
            let count = |s: Severity| report.findings.iter().filter(|f| f.severity == s).count();
            out(&format!(
                "{}: scenarios {}; {} rules on {} firewall(s); {} error(s), {} warning(s), {} note(s){}\n",
                topology.source.name,
                plan.scenarios.join(", "),
                plan.rules.len(),
                topology.firewalls.len(),
                count(Severity::Error),
                count(Severity::Warning),
                count(Severity::Info),
                if unrouted > 0 {
                    format!("; {unrouted} flow(s) have no firewall path (see the errors)")
                } else {
                    String::new()
                }
            ))?;
        }
    }
    if report.has_errors() {
        Err(Failure::Findings)
    } else {
        Ok(())
    }
}

fn plan_cmd(args: PlanArgs) -> Result<(), Failure> {
    let topology = load(&args.topology)?;
    let scope = match &args.firewall {
        Some(name) => {
            plan::check_firewall(&topology, name).map_err(anyhow::Error::from)?;
            Scope::Firewall(name.clone())
        }
        None => Scope::All,
    };
    let plan = plan::compile(&topology);
    let target = match args.format {
        PlanFormat::Table => Target::Table,
        PlanFormat::Json => Target::Json,
        PlanFormat::Csv => Target::Csv,
        PlanFormat::Markdown => Target::Markdown,
    };
    let mut text = render::render(&plan, &topology, target, &scope).map_err(anyhow::Error::from)?;
    let doubts = planned_doubts(&plan, args.firewall.as_deref());
    if target == Target::Json && !doubts.is_empty() {
        text = with_doubts_json(&text, &doubts)?;
    }
    if target != Target::Json {
        let extra = |title: &str, table: render::tabular::Table| match target {
            Target::Markdown => format!("\n### {title}\n\n{}", table.to_markdown()),
            Target::Csv => format!("\r\n{}", table.to_csv()),
            _ => format!("\n{title}\n{}", table.to_text()),
        };
        if args.all {
            text.push_str(&extra(
                "Flows that cross no firewall",
                render::local_flow_table(&plan),
            ));
        }
        if args.explain {
            text.push_str(&extra(
                "Catalog rows not planned",
                render::skipped_table(&plan),
            ));
        }
        // a footer keyed by rule number; CSV keeps one table unless --explain asks for more
        if !doubts.is_empty() && (target != Target::Csv || args.explain) {
            text.push_str(&extra(
                "Rules from catalog rows the source documents leave in doubt",
                doubt_table(&doubts),
            ));
        }
    }
    out(&text)?;
    // rows no firewall carries are missing from the tables above: say so and fail
    let missing = plan.path_findings();
    for finding in &missing {
        eprintln!("{:?}", named_report(finding));
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Failure::Findings)
    }
}

/// A planned catalog row that carries a doubt, with the rules (in scope) made from it.
struct Doubt {
    row: portplan::catalog::RowId,
    text: &'static str,
    rules: Vec<usize>,
}

/// The planned catalog rows with a `doubt`, in catalog order; with `firewall`, only rows that give
/// that firewall a rule.
fn planned_doubts(plan: &plan::Plan, firewall: Option<&str>) -> Vec<Doubt> {
    Catalog::builtin()
        .rows_with_ids()
        .filter_map(|(id, row)| {
            let text = row.doubt.as_deref()?;
            if !plan.flows.iter().any(|f| f.rows.contains(&id)) {
                return None;
            }
            let rules: Vec<usize> = plan
                .rules
                .iter()
                .filter(|r| r.rows.contains(&id) && firewall.is_none_or(|f| r.firewall == f))
                .map(|r| r.id)
                .collect();
            (firewall.is_none() || !rules.is_empty()).then_some(Doubt {
                row: id,
                text,
                rules,
            })
        })
        .collect()
}

fn doubt_table(doubts: &[Doubt]) -> render::tabular::Table {
    let mut t = render::tabular::Table::new(&["rules", "catalog row", "doubt"]);
    for d in doubts {
        t.push(vec![
            if d.rules.is_empty() {
                "(none: no firewall between)".into()
            } else {
                d.rules
                    .iter()
                    .map(|r| format!("r{r}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            },
            d.row.to_string(),
            d.text.to_string(),
        ]);
    }
    t
}

/// The plan JSON with a `doubts` array added as its last key (the rest of the text unchanged).
fn with_doubts_json(text: &str, doubts: &[Doubt]) -> Result<String, Failure> {
    #[derive(serde::Serialize)]
    struct Entry<'a> {
        row: String,
        rules: &'a [usize],
        doubt: &'a str,
    }
    let list: Vec<Entry> = doubts
        .iter()
        .map(|d| Entry {
            row: d.row.to_string(),
            rules: &d.rules,
            doubt: d.text,
        })
        .collect();
    let list = serde_json::to_string_pretty(&list)
        .context("encoding JSON")?
        .replace('\n', "\n  ");
    let body = text
        .trim_end()
        .strip_suffix('}')
        .ok_or_else(|| anyhow!("the plan JSON is not an object"))?
        .trim_end();
    Ok(format!("{body},\n  \"doubts\": {list}\n}}\n"))
}

/// A note listing the planned rows whose source document looks inconsistent.
fn doubt_finding(plan: &plan::Plan, t: &Topology) -> Option<topology::Finding> {
    let doubts = planned_doubts(plan, None);
    if doubts.is_empty() {
        return None;
    }
    let rows: Vec<String> = doubts.iter().map(|d| d.row.to_string()).collect();
    Some(
        topology::Finding::info(
            "catalog-doubt",
            format!(
                "{} planned catalog row(s) are encoded as the source document has them, although it looks inconsistent there: {}",
                doubts.len(),
                rows.join(", ")
            ),
        )
        .help("`portplan plan` lists the rules made from them and each doubt; check those ports by hand")
        .at(&t.source, None),
    )
}

fn render_cmd(args: RenderArgs) -> Result<(), Failure> {
    let topology = load(&args.topology)?;
    let scope = match (&args.firewall, &args.host) {
        (Some(f), _) => Scope::Firewall(f.clone()),
        (_, Some(h)) => Scope::Host(h.clone()),
        _ => Scope::All,
    };
    let plan = plan::compile(&topology);
    match &args.output {
        None => {
            let text = render::render(&plan, &topology, args.target, &scope)
                .map_err(anyhow::Error::from)?;
            out(&text)
        }
        Some(path) => {
            let files = render::render_files(&plan, &topology, args.target, &scope)
                .map_err(anyhow::Error::from)?;
            // targets that write one file per firewall, host or pool always take a directory,
            // however many files this topology gives; the plan tables take a file
            if args.target.single_file() {
                if let Some(file) = files.first() {
                    write_file(path, &file.text)?;
                }
            } else {
                if path.exists() && !path.is_dir() {
                    return Err(anyhow!(
                        "-o {}: target `{}` writes one file per firewall, host or pool, so -o must name a directory",
                        path.display(),
                        args.target
                    )
                    .into());
                }
                std::fs::create_dir_all(path)
                    .with_context(|| format!("cannot create directory {}", path.display()))?;
                for file in &files {
                    // render_files already refused names that could leave the directory
                    write_inside(path, Path::new(&file.file), &file.text)?;
                }
            }
            Ok(())
        }
    }
}

/// Writes a file the user named. A symbolic link at that name is refused rather than followed,
/// so the file lands in the directory the path names and nowhere else.
fn write_file(path: &Path, text: &str) -> Result<(), Failure> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create directory {}", dir.display()))?;
    }
    write_no_follow(path, text)
}

/// Writes `relative` (a plain relative path, checked by the renderer) inside `dir`: every
/// directory on the way is created or must be a real directory, never a symbolic link, and the
/// file itself is opened without following one (a link placed in the output directory would
/// otherwise send the write anywhere on the machine).
fn write_inside(dir: &Path, relative: &Path, text: &str) -> Result<(), Failure> {
    let mut at = dir.to_path_buf();
    let parts: Vec<_> = relative.components().collect();
    for part in &parts[..parts.len().saturating_sub(1)] {
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(anyhow!(
                    "{} is a symbolic link: portplan writes only real files and directories inside {}",
                    at.display(),
                    dir.display()
                )
                .into());
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(anyhow!("{} exists and is not a directory", at.display()).into());
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::create_dir(&at)
                .with_context(|| format!("cannot create directory {}", at.display()))?,
            Err(e) => {
                return Err(anyhow!(e)
                    .context(format!("cannot use {}", at.display()))
                    .into());
            }
        }
    }
    write_no_follow(&dir.join(relative), text)
}

fn write_no_follow(path: &Path, text: &str) -> Result<(), Failure> {
    use std::os::unix::fs::OpenOptionsExt;
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(anyhow!(
            "{} is a symbolic link: portplan does not write through it (remove it, or name the real file)",
            path.display()
        )
        .into());
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?)
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM).
async fn stop_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

fn listen(args: ListenArgs) -> Result<(), Failure> {
    use portplan::probe::listener::{self, Listener, Options};
    use portplan::probe::targets;
    let topology = load(&args.topology)?;
    let Some((pool, server)) = topology.servers().find(|(_, s)| s.name == args.host) else {
        let known: Vec<&str> = topology.servers().map(|(_, s)| s.name.as_str()).collect();
        return Err(anyhow!(
            "`{}` is not a server of the topology (known: {})",
            args.host,
            known.join(", ")
        )
        .into());
    };
    let plan = plan::compile(&topology);
    let specs = targets::listen_specs(&plan, &topology, &args.host, args.full_ranges);
    let tls = if args.tls {
        let addrs: Vec<std::net::IpAddr> = server
            .interfaces
            .iter()
            .flat_map(|i| i.addresses.iter().map(|a| a.ip))
            .collect();
        Some(
            portplan::probe::tls::self_signed_server(&server.name, &addrs)
                .map_err(|e| anyhow!("creating the TLS certificate: {e}"))?,
        )
    } else {
        None
    };
    let limit = listener::raise_descriptor_limit().map_err(|e| anyhow!(e))?;
    let rt = runtime()?;
    let _enter = rt.enter();
    let options = Options {
        bind_all: args.bind_all,
        tls,
        ..Options::default()
    };
    let (listener, bound) = Listener::bind(&specs, options);
    let report = listener.report(&bound);
    let mut text = format!(
        "portplan listen: {} ({}) - {} socket(s) from the plan\nopen-file limit: {}{} (hard limit {})\n",
        server.name,
        pool.role.description(),
        bound.len(),
        if limit.raised() {
            format!("raised from {} to ", limit.before)
        } else {
            String::new()
        },
        limit.soft,
        limit.hard_text()
    );
    for g in &report.groups {
        let sample = match g.sampled_from {
            Some(r) => format!(" [sample of {r}]"),
            None => String::new(),
        };
        let count = if g.count > 1 {
            format!(" ({} ports)", g.count)
        } else {
            String::new()
        };
        text.push_str(&format!(
            "  {:<3} {:<15} {:<12} {}{count} {}{sample}\n",
            g.transport,
            g.address.to_string(),
            g.service,
            g.ports_text(),
            g.state
        ));
    }
    if let Err(e) = report.require_complete(Some(limit)) {
        out(&text)?;
        return Err(anyhow!(e).into());
    }
    if report.listening == 0 && !bound.is_empty() {
        // a cold trial ran it on a host without any of the server's addresses: it printed
        // "listening on 0 of 8" and waited forever
        out(&text)?;
        return Err(anyhow!(
            "listening on none of the {} planned socket(s): is this `{}`? (its planned addresses are not on this host; --bind-all listens on the wildcard address)",
            bound.len(),
            args.host
        )
        .into());
    }
    // the handlers are in place before the line that says we listen: a SIGTERM sent on reading it
    // must stop the listener cleanly, not kill it before it was ever polled
    let stop = {
        use tokio::signal::unix::{SignalKind, signal};
        let _guard = rt.enter();
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                _ => stop_signal().await,
            }
        }
    };
    text.push_str(&format!(
        "listening on {} of {} socket(s); at most {} connection(s) at once, {} per peer; Ctrl-C stops\n",
        report.listening,
        bound.len(),
        listener.max_connections(),
        listener.max_connections_per_peer()
    ));
    out(&text)?;
    let stats = rt.block_on(listener.serve(stop));
    use std::sync::atomic::Ordering::Relaxed;
    out(&format!(
        "stopped: {} connection(s), {} refused by the per-peer cap, {} by the total cap, {} accept pause(s) for want of descriptors, {} STUN answer(s), {} HTTP answer(s), {} TLS handshake(s), {} UDP echo(es), {} UDP datagram(s) not answered\n",
        stats.connections.load(Relaxed),
        stats.connections_refused_by_cap.load(Relaxed),
        stats.connections_refused_by_total_cap.load(Relaxed),
        stats.accept_paused_out_of_descriptors.load(Relaxed),
        stats.stun_answers.load(Relaxed),
        stats.http_answers.load(Relaxed),
        stats.tls_handshakes.load(Relaxed),
        stats.udp_echoes.load(Relaxed),
        stats.udp_not_answered.load(Relaxed),
    ))
}

fn probe(args: ProbeArgs) -> Result<(), Failure> {
    use portplan::probe::{prober, report, targets};
    use std::io::IsTerminal;
    let topology = load(&args.topology)?;
    let origin = targets::origin(&topology, &args.from).map_err(|e| anyhow!(e))?;
    let plan = plan::compile(&topology);
    let (list, untestable) = targets::probe_targets(&plan, &topology, &origin);
    let settings = prober::Settings {
        timeout: std::time::Duration::from_millis(args.timeout),
        concurrency: args.concurrency as usize,
        rate: args.rate,
    };
    let show_progress =
        std::io::stderr().is_terminal() && matches!(args.format, ProbeFormat::Table);
    let rt = runtime()?;
    let outcomes = rt.block_on(async {
        tokio::select! {
            outcomes = prober::run(list, settings, |done, total| {
                if show_progress {
                    eprint!("\rprobing {done}/{total}");
                    if done == total {
                        eprint!("\r{:30}\r", "");
                    }
                }
            }) => Some(outcomes),
            _ = stop_signal() => None,
        }
    });
    let Some(outcomes) = outcomes else {
        eprintln!("portplan: interrupted");
        return Err(Failure::Findings);
    };
    let summary = report::Summary::of(&outcomes, &untestable);
    if summary.probes == 0 {
        eprintln!(
            "portplan: nothing was probed from `{}`: no planned flow starts there with a concrete destination ({} had none); that is not a pass",
            args.from, summary.untestable
        );
    }
    let text = match args.format {
        ProbeFormat::Json => {
            let doc = report::ProbeDocument::new(&args.from, summary.clone(), outcomes, untestable);
            serde_json::to_string_pretty(&doc).context("encoding JSON")? + "\n"
        }
        ProbeFormat::Table => format!(
            "{}\n{}\n",
            report::matrix(&outcomes).to_text(),
            summary.line()
        ),
    };
    out(&text)?;
    if summary.all_passed() {
        Ok(())
    } else {
        Err(Failure::Findings)
    }
}

fn audit(args: AuditArgs) -> Result<(), Failure> {
    use portplan::audit::judge;
    let topology = load(&args.topology)?;
    plan::check_firewall(&topology, &args.firewall).map_err(anyhow::Error::from)?;
    let text = read_limited(&args.config, CONFIG_LIMIT, "configuration")?;
    let config = portplan::audit::parse(args.format, &text).map_err(anyhow::Error::from)?;
    let plan = plan::compile(&topology);
    let audit = judge::audit(&plan, &topology, &args.firewall, &config);
    let all_allowed = audit.all_allowed();
    let text = match args.format_out {
        AuditOut::Json => {
            let doc = portplan::audit::document::AuditDocument::new(audit);
            serde_json::to_string_pretty(&doc).context("encoding JSON")? + "\n"
        }
        AuditOut::Table => audit_text(&audit, &args.config),
    };
    out(&text)?;
    if all_allowed {
        Ok(())
    } else {
        Err(Failure::Findings)
    }
}

fn audit_text(a: &portplan::audit::judge::Audit, path: &Path) -> String {
    use portplan::audit::judge::Status;
    // configuration text reaches the terminal with its control characters escaped
    let a = &portplan::audit::for_terminal(a);
    let shown_path = portplan::audit::visible(&path.to_string_lossy()).into_owned();
    let path = Path::new(&shown_path);
    use portplan::render::tabular::Table;
    let mut t = Table::new(&[
        "rule",
        "catalog rows",
        "in -> out",
        "family",
        "proto",
        "ports",
        "status",
        "decided by",
    ]);
    for r in &a.rules {
        let by: Vec<String> = r
            .parts
            .iter()
            .flat_map(|p| p.by.iter().map(|l| l.label()))
            .collect();
        let mut by_unique: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for b in by {
            if seen.insert(b.clone()) {
                by_unique.push(b);
            }
        }
        t.push(vec![
            format!("r{}", r.rule),
            r.rows.clone(),
            format!("{} -> {}", r.ingress, r.egress),
            r.family.to_string(),
            r.transport.to_string(),
            r.ports.clone(),
            match r.status {
                Status::Allowed => "allowed".into(),
                other => format!("{} !", format!("{other:?}").to_uppercase()),
            },
            by_unique.join(", "),
        ]);
    }
    let mut s = format!(
        "audit of `{}` ({}, {})\n{}",
        a.firewall,
        a.format,
        path.display(),
        t.to_text()
    );
    let troubled: Vec<_> = a
        .rules
        .iter()
        .filter(|r| r.status != Status::Allowed)
        .collect();
    if !troubled.is_empty() {
        s.push_str("\nWhat is blocked or unclear:\n");
        for r in troubled {
            s.push_str(&format!(
                "  r{} {} {} {} ({}):\n",
                r.rule, r.service, r.transport, r.ports, r.rows
            ));
            for p in &r.parts {
                let by: Vec<String> =
                    p.by.iter()
                        .map(|l| format!("{} `{}`", l.label(), l.text))
                        .collect();
                s.push_str(&format!(
                    "    {:<9} {}  [{}]\n",
                    p.verdict,
                    p.what.join("; "),
                    by.join("; ")
                ));
            }
        }
    }
    if !a.overexposure.is_empty() {
        s.push_str("\nAllowed beyond the plan:\n");
        for e in &a.overexposure {
            s.push_str(&format!(
                "  {}{} -> {} ({}{}) by {} `{}`: {}\n",
                if e.certain { "" } else { "MAYBE " },
                e.ingress,
                e.egress,
                e.family,
                if e.into_protected_zone {
                    ", into a protected zone"
                } else {
                    ""
                },
                e.by.label(),
                e.by.text,
                e.what.join("; ")
            ));
        }
    }
    if !a.partly_read.is_empty() {
        s.push_str("\nRules read only in part (what they match is uncertain):\n");
        for p in &a.partly_read {
            s.push_str(&format!("  {}: {} ({})\n", p.at.label(), p.at.text, p.why));
        }
    }
    if !a.unparsed.is_empty() {
        s.push_str("\nLines not interpreted (verdicts they could change are marked uncertain):\n");
        for u in &a.unparsed {
            s.push_str(&format!("  line {}: {} ({})\n", u.line, u.text, u.why));
        }
    }
    for n in &a.notes {
        s.push_str(&format!("note: {n}\n"));
    }
    s.push_str(&format!(
        "{} planned rules: {} allowed, {} partial, {} blocked, {} uncertain; {} opening(s) beyond the plan; {} rule(s) read in part, {} line(s) not interpreted\n",
        a.rules.len(),
        a.count(Status::Allowed),
        a.count(Status::Partial),
        a.count(Status::Blocked),
        a.count(Status::Uncertain),
        a.overexposure.len(),
        a.partly_read.len(),
        a.unparsed.len()
    ));
    s
}

fn diagram(args: DiagramArgs) -> Result<(), Failure> {
    use portplan::report::diagram as d;
    let topology = load(&args.topology)?;
    let plan = plan::compile(&topology);
    let layout = d::layout(&topology, &plan, !args.hide_optional);
    let text = match args.format {
        DiagramFormat::Svg => d::svg(&layout),
        DiagramFormat::Dot => d::dot(&layout),
    };
    match &args.output {
        Some(path) => write_file(path, &text),
        None => out(&text),
    }
}

fn report(args: ReportArgs) -> Result<(), Failure> {
    use portplan::report::{html, inputs};
    let topology = load(&args.topology)?;
    let plan = plan::compile(&topology);
    let lint = topology::lint::lint(&topology);
    let read = |p: &Path, what: &str| read_limited(p, CONFIG_LIMIT, what);
    let extras = html::Extras {
        audit: match &args.audit {
            Some(p) => {
                Some(inputs::audit(&read(p, "audit")?, p, &topology).map_err(anyhow::Error::from)?)
            }
            None => None,
        },
        probe: match &args.probe {
            Some(p) => Some(inputs::probe(&read(p, "probe")?, p).map_err(anyhow::Error::from)?),
            None => None,
        },
    };
    let text = html::report(&topology, &plan, &lint, &extras);
    write_file(&args.output, &text)?;
    out(&format!(
        "wrote {} ({} bytes)\n",
        args.output.display(),
        text.len()
    ))
}

fn between(args: BetweenArgs) -> Result<(), Failure> {
    use portplan::plan::between;
    use portplan::render::tabular::Table;
    let show = |t: Table| match args.format {
        PlanFormat::Csv => t.to_csv(),
        PlanFormat::Markdown => t.to_markdown(),
        _ => t.to_text(),
    };
    let Some(path) = &args.topology else {
        let a = between::RoleQuery::parse(&args.a).map_err(|e| anyhow!(e))?;
        let b = between::RoleQuery::parse(&args.b).map_err(|e| anyhow!(e))?;
        let version: Version = args.version.parse().map_err(|e: String| anyhow!(e))?;
        let catalog = Catalog::builtin();
        let rows: Vec<_> = between::catalog_rows(catalog, a, b)
            .into_iter()
            .filter(|(_, _, r)| {
                catalog
                    .scenario(&r.scenario)
                    .is_some_and(|s| r.applies_to(version, s))
            })
            .collect();
        if matches!(args.format, PlanFormat::Json) {
            let json: Vec<serde_json::Value> = rows
                .iter()
                .map(|(fwd, id, r)| serde_json::json!({"from": if *fwd { &args.a } else { &args.b }, "to": if *fwd { &args.b } else { &args.a }, "id": id.to_string(), "row": r}))
                .collect();
            return out(&(serde_json::to_string_pretty(&json).context("encoding JSON")? + "\n"));
        }
        let mut t = Table::new(&[
            "direction",
            "proto",
            "ports",
            "service",
            "source",
            "destination",
            "condition",
            "catalog row",
            "why",
        ]);
        for (fwd, id, r) in &rows {
            t.push(vec![
                if *fwd {
                    format!("{} -> {}", args.a, args.b)
                } else {
                    format!("{} -> {}", args.b, args.a)
                },
                r.transport.to_string(),
                r.ports.to_string(),
                r.service.clone(),
                r.source.to_string(),
                r.destination.to_string(),
                r.condition.map(|c| c.to_string()).unwrap_or_default(),
                id.to_string(),
                r.explanation(),
            ]);
        }
        return out(&format!(
            "version: {version} ({})\n{}{} catalog row(s)\n",
            version.description(),
            show(t),
            rows.len()
        ));
    };
    let topology = load(&TopologyArg {
        file: Some(path.clone()),
    })?;
    let plan = plan::compile(&topology);
    let known = between::known_names(&plan, &topology);
    for name in [&args.a, &args.b] {
        if !known.contains(name) {
            let near = between::closest(name, &known);
            return Err(anyhow!(
                "`{name}` is not a server, pool, zone, client network or role of this topology{}",
                if near.is_empty() {
                    String::new()
                } else {
                    format!("; did you mean {}?", near.join(", "))
                }
            )
            .into());
        }
    }
    let found = between::flows(&plan, &topology, &args.a, &args.b);
    if matches!(args.format, PlanFormat::Json) {
        let json: Vec<serde_json::Value> = found
            .iter()
            .map(|(fwd, f)| serde_json::json!({"forward": fwd, "flow": f}))
            .collect();
        return out(&(serde_json::to_string_pretty(&json).context("encoding JSON")? + "\n"));
    }
    let mut t = Table::new(&[
        "direction",
        "source",
        "destination",
        "proto",
        "ports",
        "service",
        "firewalls",
        "rules",
        "catalog rows",
    ]);
    for (fwd, f) in &found {
        let path: Vec<&str> = f.path.iter().map(|h| h.firewall.as_str()).collect();
        t.push(vec![
            if *fwd {
                format!("{} -> {}", args.a, args.b)
            } else {
                format!("{} -> {}", args.b, args.a)
            },
            render::group_text(&f.source),
            render::group_text(&f.destination),
            f.transport.to_string(),
            f.ports.to_string(),
            f.service.clone(),
            if path.is_empty() {
                "(none)".into()
            } else {
                path.join(", ")
            },
            plan::rule_tags_text(&f.rules),
            f.rows
                .iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
                .join(" "),
        ]);
    }
    out(&format!(
        "version: {} ({})\n{}{} planned flow(s)\n",
        topology.version,
        topology.version.description(),
        show(t),
        found.len()
    ))
}

#[derive(Subcommand)]
enum EndpointsCommand {
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
        #[arg(long, value_enum, default_value = "table")]
        format: AuditOut,
    },
}

/// The largest endpoint file read (the whole worldwide answer is well under 1 MiB).
const ENDPOINTS_LIMIT: u64 = 16 << 20;

fn endpoints(cmd: EndpointsCommand) -> Result<(), Failure> {
    use portplan::endpoints::{self as ep, Date, Snapshot};
    let load = |path: &Path, version: Option<&str>| -> Result<Snapshot, Failure> {
        let text = read_limited(path, ENDPOINTS_LIMIT, "endpoint file")?;
        Snapshot::read(&text, version).map_err(|e| anyhow!("{}: {e}", path.display()).into())
    };
    match cmd {
        EndpointsCommand::Show { file, max_age } => {
            let snapshot = match &file {
                Some(path) => load(path, None)?,
                None => Snapshot::built_in(),
            };
            if let Some(w) = ep::age_warning(&snapshot, Date::today(), max_age) {
                eprintln!("portplan: warning: {w}");
            }
            out(&ep::describe(&snapshot, Date::today(), max_age))
        }
        EndpointsCommand::Import {
            file,
            version,
            output,
        } => {
            let snapshot = load(&file, version.as_deref())?;
            let json = serde_json::to_string_pretty(&snapshot).context("writing the snapshot")?;
            write_file(&output, &(json + "\n"))?;
            eprintln!(
                "portplan: wrote {} ({} endpoint set(s) of the Skype area, {} with addresses)",
                output.display(),
                snapshot.endpoints.len(),
                snapshot.address_sets().count()
            );
            Ok(())
        }
        EndpointsCommand::Diff {
            old,
            new,
            old_version,
            new_version,
            format,
        } => {
            let a = load(&old, old_version.as_deref())?;
            let b = load(&new, new_version.as_deref())?;
            let changes = ep::diff(&a, &b);
            match format {
                AuditOut::Table => out(&ep::describe_diff(&a, &b, &changes)),
                AuditOut::Json => {
                    out(&(serde_json::to_string_pretty(&changes).context("writing JSON")? + "\n"))
                }
            }
        }
    }
}
