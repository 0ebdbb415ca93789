//! The `portplan` command line (binary only; the library never prints). [`args`] is what clap
//! parses and the settings it is checked into before any work, [`output`] writes and reads files,
//! and each subcommand has its own small handler that calls the library and hands the text it gets
//! back to [`output`].

pub mod args;
mod audit;
mod between;
mod catalog;
mod check;
mod diagram;
mod endpoints;
mod listen;
mod output;
mod plan;
mod probe;
mod render;
mod report;

use anyhow::Context;
use args::{Cli, Command, TopologyArg};
use clap::CommandFactory;
use output::{TOPOLOGY_LIMIT, out, read_limited};
use portplan::plan::Plan;
use portplan::topology::{Topology, named_report};

/// How a command ended when it did not simply succeed.
pub enum Failure {
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

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Catalog(args) => catalog::run(args.settings()?),
        Command::Check(args) => check::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Render(args) => render::run(args),
        Command::Listen(args) => listen::run(args),
        Command::Probe(args) => probe::run(args),
        Command::Between(args) => between::run(args.settings()?),
        Command::Audit(args) => audit::run(args),
        Command::Diagram(args) => diagram::run(args),
        Command::Report(args) => report::run(args),
        Command::Endpoints(cmd) => endpoints::run(cmd),
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

/// A topology and its plan, built once per command.
pub struct Project {
    pub topology: Topology,
    pub plan: Plan,
}

impl Project {
    /// Loads the topology named on the command line (or the built-in one) and compiles it.
    fn load(arg: &TopologyArg) -> Result<Project, Failure> {
        Ok(Project::of(load(arg)?))
    }

    fn of(topology: Topology) -> Project {
        let plan = portplan::plan::compile(&topology);
        Project { topology, plan }
    }
}

/// Loads the topology named on the command line (or the built-in one); problems are printed with
/// their place in the file and end the command with exit code 2.
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

/// The async runtime `listen` and `probe` run on.
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

/// Exit 1 unless `passed`.
fn findings_unless(passed: bool) -> Result<(), Failure> {
    if passed {
        Ok(())
    } else {
        Err(Failure::Findings)
    }
}
