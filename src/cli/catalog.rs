//! `portplan catalog`: the catalog rows, the scenario list, or the rows two versions differ in.

use super::Failure;
use super::args::CatalogArgs;
use super::output::{Format, out, out_json};
use anyhow::{Context, anyhow};
use portplan::catalog::{Catalog, Version};
use portplan::view::catalog::{catalog_json, catalog_table, scenario_table};

pub fn run(args: CatalogArgs) -> Result<(), Failure> {
    let catalog = Catalog::builtin();
    if let Some(pair) = &args.compare {
        let version = |v: &String| v.parse::<Version>().map_err(|e| anyhow!(e));
        let c =
            portplan::catalog::compare::compare(catalog, version(&pair[0])?, version(&pair[1])?);
        return match args.format {
            Format::Json => out_json(&c),
            Format::Table => out(&c.to_string()),
            _ => Err(anyhow!("--compare prints as table or json").into()),
        };
    }
    // the TOML is the embedded data file as shipped: the whole catalog or nothing
    if args.format == Format::Toml && args.scenario.is_some() {
        return Err(anyhow!(
            "--format toml prints the whole embedded catalog file; it cannot be narrowed with --scenario (use --format json, csv, markdown or table)"
        )
        .into());
    }
    if args.scenario.as_deref() == Some("") {
        return match args.format {
            Format::Json => out_json(&catalog.scenarios),
            other => out(&scenario_table(catalog).show(other.style())),
        };
    }
    if let Some(id) = &args.scenario
        && catalog.scenario(id).is_none()
    {
        let known: Vec<&str> = catalog.scenarios.iter().map(|s| s.id.as_str()).collect();
        return Err(anyhow!("unknown scenario `{id}`; known: {}", known.join(", ")).into());
    }
    let scenario = args.scenario.as_deref();
    out(&match args.format {
        Format::Json => catalog_json(catalog, scenario).context("encoding JSON")?,
        Format::Toml => Catalog::builtin_source().to_string(),
        other => catalog_table(catalog, scenario).show(other.style()),
    })
}
