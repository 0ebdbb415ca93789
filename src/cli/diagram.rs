//! `portplan diagram`: the deployment drawn as SVG or Graphviz dot.

use super::args::DiagramArgs;
use super::output::{Format, out, write_file};
use super::{Failure, Project};
use portplan::report::diagram as d;

pub fn run(args: DiagramArgs) -> Result<(), Failure> {
    let Project { topology, plan } = Project::load(&args.topology)?;
    let layout = d::layout(&topology, &plan, !args.hide_optional);
    let text = match args.format {
        Format::Dot => d::dot(&layout),
        _ => d::svg(&layout),
    };
    match &args.output {
        Some(path) => write_file(path, &text),
        None => out(&text),
    }
}
