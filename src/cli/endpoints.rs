//! `portplan endpoints`: show, import and compare Microsoft 365 endpoint snapshots.

use super::Failure;
use super::args::EndpointsCommand;
use super::output::{ENDPOINTS_LIMIT, Format, out, read_limited, write_file};
use anyhow::{Context, anyhow};
use std::path::Path;

pub fn run(cmd: EndpointsCommand) -> Result<(), Failure> {
    use portplan::endpoints::{self as ep, Date, Snapshot};
    let today = Date::today();
    let load = |path: &Path, version: Option<&str>| -> Result<Snapshot, Failure> {
        let text = read_limited(path, ENDPOINTS_LIMIT, "endpoint file")?;
        let snapshot = Snapshot::read(&text, version)
            .and_then(|s| s.check_date(today).map(|()| s))
            .map_err(|e| anyhow!("{}: {e}", path.display()))?;
        for w in snapshot.warnings() {
            eprintln!("portplan: warning: {}: {w}", path.display());
        }
        Ok(snapshot)
    };
    match cmd {
        EndpointsCommand::Show { file, max_age } => {
            let snapshot = match &file {
                Some(path) => load(path, None)?,
                None => Snapshot::built_in(),
            };
            if let Some(w) = ep::age_warning(&snapshot, today, max_age) {
                eprintln!("portplan: warning: {w}");
            }
            out(&ep::describe(&snapshot, today, max_age))
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
            if format == Format::Json {
                out(&(serde_json::to_string_pretty(&changes).context("writing JSON")? + "\n"))
            } else {
                out(&ep::describe_diff(&a, &b, &changes))
            }
        }
    }
}
