//! `portplan render`: the plan in one output format, to standard output, a file or a directory.

use super::args::RenderArgs;
use super::output::{out, write_all_inside, write_file};
use super::{Failure, Project};
use anyhow::{Context, anyhow};
use portplan::render;
use std::path::Path;

pub fn run(args: RenderArgs) -> Result<(), Failure> {
    let Project { topology, plan } = Project::load(&args.topology)?;
    let scope = args.scope();
    let files =
        render::render_files(&plan, &topology, args.target, &scope).map_err(anyhow::Error::from)?;
    let Some(path) = &args.output else {
        return out(&render::joined(files));
    };
    // targets that write one file per firewall, host or pool always take a directory,
    // however many files this topology gives; the plan tables take a file
    if args.target.single_file() {
        if let Some(file) = files.first() {
            write_file(path, &file.text)?;
        }
        return Ok(());
    }
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
    // render_files already refused names that could leave the directory or collide; every
    // target is checked before the first is written, and the files land together or not at all
    let all: Vec<(&Path, &str)> = files
        .iter()
        .map(|f| (Path::new(&f.file), f.text.as_str()))
        .collect();
    write_all_inside(path, &all)
}
