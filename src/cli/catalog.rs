//! `portplan catalog`: the catalog rows, the scenario list, or the rows two versions differ in.

use super::Failure;
use super::args::CatalogJob;
use super::output::{Format, out, out_json};
use anyhow::Context;
use portplan::catalog::Catalog;
use portplan::view::catalog::{catalog_json, catalog_table, scenario_table};

pub fn run(job: CatalogJob) -> Result<(), Failure> {
    let catalog = Catalog::builtin();
    match job {
        CatalogJob::Compare { from, to, format } => {
            let c = portplan::catalog::compare::compare(catalog, from, to);
            match format {
                Format::Json => out_json(&c),
                _ => out(&c.to_string()),
            }
        }
        CatalogJob::Scenarios(format) => match format {
            Format::Json => out_json(&catalog.scenarios),
            other => out(&scenario_table(catalog).show(other.style())),
        },
        CatalogJob::Rows { scenario, format } => {
            let scenario = scenario.as_deref();
            out(&match format {
                Format::Json => catalog_json(catalog, scenario).context("encoding JSON")?,
                Format::Toml => Catalog::builtin_source().to_string(),
                other => catalog_table(catalog, scenario).show(other.style()),
            })
        }
    }
}
