//! `portplan audit`: judge an existing firewall configuration against the plan.

use super::args::AuditArgs;
use super::output::{CONFIG_LIMIT, Format, out, out_json, read_limited};
use super::{Failure, Project};
use portplan::audit::judge;
use portplan::plan;

pub fn run(args: AuditArgs) -> Result<(), Failure> {
    let Project { topology, plan } = Project::load(&args.topology)?;
    plan::check_firewall(&topology, &args.firewall).map_err(anyhow::Error::from)?;
    let text = read_limited(&args.config, CONFIG_LIMIT, "configuration")?;
    let config = portplan::audit::parse(args.format, &text).map_err(anyhow::Error::from)?;
    let audit = judge::audit(&plan, &topology, &args.firewall, &config);
    let all_allowed = audit.all_allowed();
    if args.format_out == Format::Json {
        out_json(&portplan::audit::document::AuditDocument::new(audit))?;
    } else {
        out(&portplan::view::audit::audit_text(&audit, &args.config))?;
    }
    super::findings_unless(all_allowed)
}
