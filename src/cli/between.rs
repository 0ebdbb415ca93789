//! `portplan between`: the ports between two roles (catalog) or two names of a topology (plan).

use super::args::{Between, BetweenSource};
use super::output::{Format, out, out_json};
use super::{Failure, Project};
use anyhow::anyhow;
use portplan::catalog::Catalog;
use portplan::plan::between;
use portplan::view;

pub fn run(args: Between) -> Result<(), Failure> {
    let style = args.format.style();
    let topology = match args.source {
        BetweenSource::Topology(topology) => topology,
        BetweenSource::Catalog { a, b, version } => {
            let catalog = Catalog::builtin();
            let rows: Vec<_> = between::catalog_rows(catalog, a, b)
                .into_iter()
                .filter(|(_, _, r)| {
                    catalog
                        .scenario(&r.scenario)
                        .is_some_and(|s| r.applies_to(version, s))
                })
                .collect();
            if args.format == Format::Json {
                let json: Vec<serde_json::Value> = rows
                .iter()
                .map(|(fwd, id, r)| serde_json::json!({"from": if *fwd { &args.a } else { &args.b }, "to": if *fwd { &args.b } else { &args.a }, "id": id.to_string(), "row": r}))
                .collect();
                return out_json(&json);
            }
            return out(&view::between::catalog_rows_text(
                version, &args.a, &args.b, &rows, style,
            ));
        }
    };
    let Project { topology, plan } = Project::load(&topology)?;
    let known = between::known_names(&plan, &topology);
    for name in [&args.a, &args.b] {
        if !known.contains(name) {
            let near = between::closest(name, &known);
            return Err(anyhow!(
                "`{name}` is not a server, pool, zone, client network or role of this topology{}",
                if near.is_empty() {
                    String::new()
                } else {
                    format!("; did you mean {}?", near.join(", "))
                }
            )
            .into());
        }
    }
    let found = between::flows(&plan, &topology, &args.a, &args.b);
    if args.format == Format::Json {
        let json: Vec<serde_json::Value> = found
            .iter()
            .map(|(fwd, f)| serde_json::json!({"forward": fwd, "flow": f}))
            .collect();
        return out_json(&json);
    }
    out(&view::between::flows_text(
        &topology, &args.a, &args.b, &found, style,
    ))
}
