//! `portplan report`: one self-contained HTML file (plan, diagram, checks, audit and probe results).

use super::args::ReportArgs;
use super::output::{CONFIG_LIMIT, out, read_limited, write_file};
use super::{Failure, Project};
use portplan::report::{html, inputs};
use portplan::topology;
use std::path::Path;

pub fn run(args: ReportArgs) -> Result<(), Failure> {
    let Project { topology, plan } = Project::load(&args.topology)?;
    let lint = topology::lint::lint_with(
        &topology,
        portplan::catalog::Catalog::builtin(),
        portplan::endpoints::Date::today(),
    );
    let read = |p: &Path, what: &str| read_limited(p, CONFIG_LIMIT, what);
    let extras = html::Extras {
        audit: match &args.audit {
            Some(p) => Some(
                inputs::audit(&read(p, "audit")?, p, &topology, &plan)
                    .map_err(anyhow::Error::from)?,
            ),
            None => None,
        },
        probe: match &args.probe {
            Some(p) => Some(
                inputs::probe(&read(p, "probe")?, p, &topology, &plan)
                    .map_err(anyhow::Error::from)?,
            ),
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
