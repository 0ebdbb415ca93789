//! The `portplan` command line: parse arguments, call the library, print. Nothing else lives here.
//!
//! Exit codes: 0 success; 1 the job ran and found something wrong (lint errors, blocked flows);
//! 2 the input could not be used (bad arguments, unreadable or invalid files).

use anyhow::{Context, Result, anyhow};
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use portplan::catalog::Catalog;
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
    /// Only this scenario (e.g. edge-consolidated-hlb)
    #[arg(long, value_name = "ID")]
    scenario: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    format: CatalogFormat,
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
fn load(arg: &TopologyArg) -> Result<Topology, Failure> {
    let Some(path) = &arg.file else {
        return Ok(Topology::reference());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read topology file {}", path.display()))?;
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
    let topology = load(&args.topology)?;
    let report = topology::lint::lint(&topology);
    let plan = plan::compile(&topology);
    let unrouted = plan.unrouted_flows().count();
    match args.format {
        CheckFormat::Json => {
            #[derive(serde::Serialize)]
            struct CheckJson<'a> {
                topology: &'a str,
                scenarios: &'a [String],
                findings: &'a [topology::Finding],
                public_addresses: &'a [topology::lint::PublicAddressCount],
                rules: usize,
                unrouted_flows: usize,
            }
            let json = serde_json::to_string_pretty(&CheckJson {
                topology: &topology.name,
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
                    format!("; {unrouted} flow(s) have no firewall path")
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
    }
    out(&text)
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
            // several files (one per firewall or host) go into a directory; one file goes to the
            // path itself unless that path is an existing directory
            if files.len() > 1 || path.is_dir() {
                std::fs::create_dir_all(path)
                    .with_context(|| format!("cannot create directory {}", path.display()))?;
                for file in &files {
                    write_file(&path.join(&file.file), &file.text)?;
                }
            } else if let Some(file) = files.first() {
                write_file(path, &file.text)?;
            }
            Ok(())
        }
    }
}

fn write_file(path: &Path, text: &str) -> Result<(), Failure> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create directory {}", dir.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
