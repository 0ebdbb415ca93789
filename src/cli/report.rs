//! `portplan report`: one self-contained HTML file (plan, diagram, checks, audit and probe results).

use super::args::ReportArgs;
use super::output::{CONFIG_LIMIT, out, read_limited, write_file};
use super::{Failure, Project};
use anyhow::Context;
use portplan::report::html;
use portplan::topology;
use std::path::Path;

fn read_json(path: &Path, what: &str) -> Result<serde_json::Value, Failure> {
    let text = read_limited(path, CONFIG_LIMIT, what)?;
    Ok(serde_json::from_str(&text)
        .with_context(|| format!("{} is not {what} JSON", path.display()))?)
}

pub fn run(args: ReportArgs) -> Result<(), Failure> {
    let Project { topology, plan } = Project::load(&args.topology)?;
    let lint = topology::lint::lint_with(
        &topology,
        portplan::catalog::Catalog::builtin(),
        portplan::endpoints::Date::today(),
    );
    let extras = html::Extras {
        audit: args
            .audit
            .as_deref()
            .map(|p| read_json(p, "audit"))
            .transpose()?,
        probe: args
            .probe
            .as_deref()
            .map(|p| read_json(p, "probe"))
            .transpose()?,
    };
    let text = html::report(&topology, &plan, &lint, &extras);
    write_file(&args.output, &text)?;
    out(&format!(
        "wrote {} ({} bytes)\n",
        args.output.display(),
        text.len()
    ))
}
