//! `portplan probe`: open every flow that starts at one place and print the verdict matrix.

use super::args::ProbeArgs;
use super::output::{Format, out, out_json};
use super::{Failure, Project, runtime, stop_signal};
use anyhow::anyhow;
use portplan::probe::{document, prober, targets};
use portplan::view;
use std::io::IsTerminal;

pub fn run(args: ProbeArgs) -> Result<(), Failure> {
    let Project { topology, plan } = Project::load(&args.topology)?;
    let origin = targets::origin(&topology, &args.from).map_err(|e| anyhow!(e))?;
    let (list, untestable) = targets::probe_targets_dialling(&plan, &topology, &origin, &args.dial)
        .map_err(|e| anyhow!("--dial: {e}"))?;
    let settings = prober::Settings {
        timeout: std::time::Duration::from_millis(args.timeout),
        concurrency: args.concurrency as usize,
        rate: args.rate,
    };
    let show_progress = std::io::stderr().is_terminal() && args.format == Format::Table;
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
    let summary = document::Summary::of(&outcomes, &untestable);
    if summary.probes == 0 {
        eprintln!(
            "portplan: nothing was probed from `{}`: no planned flow starts there with a concrete destination ({} had none); that is not a pass",
            args.from, summary.untestable
        );
    }
    if args.format == Format::Json {
        out_json(&document::ProbeDocument::new(
            &args.from,
            summary.clone(),
            outcomes,
            untestable,
        ))?;
    } else {
        out(&format!(
            "{}\n{}\n",
            view::probe::matrix(&outcomes).to_text(),
            view::probe::summary_line(&summary)
        ))?;
    }
    super::findings_unless(summary.all_passed())
}
