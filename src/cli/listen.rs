//! `portplan listen`: answer on every port the plan gives this server until stopped.

use super::args::ListenArgs;
use super::output::out;
use super::{Failure, Project, runtime, stop_signal};
use anyhow::anyhow;
use portplan::probe::listener::{self, Listener, Options};
use portplan::probe::targets;
use portplan::view;

pub fn run(args: ListenArgs) -> Result<(), Failure> {
    let Project { topology, plan } = Project::load(&args.topology)?;
    let Some((pool, server)) = topology.servers().find(|(_, s)| s.name == args.host) else {
        let known: Vec<&str> = topology.servers().map(|(_, s)| s.name.as_str()).collect();
        return Err(anyhow!(
            "`{}` is not a server of the topology (known: {})",
            args.host,
            known.join(", ")
        )
        .into());
    };
    let specs = targets::listen_specs(&plan, &topology, &args.host, args.full_ranges);
    let tls = if args.tls {
        let addrs: Vec<std::net::IpAddr> = server
            .interfaces
            .iter()
            .flat_map(|i| i.addresses.iter().map(|a| a.ip))
            .collect();
        Some(
            portplan::probe::tls::self_signed_server(&server.name, &addrs)
                .map_err(|e| anyhow!("creating the TLS certificate: {e}"))?,
        )
    } else {
        None
    };
    let limit = listener::raise_descriptor_limit().map_err(|e| anyhow!(e))?;
    let rt = runtime()?;
    let _enter = rt.enter();
    let options = Options {
        bind_all: args.bind_all,
        tls,
        ..Options::default()
    };
    let (listener, bound) = Listener::bind(&specs, options);
    let report = listener.report(&bound);
    let mut text = view::listen::opened(
        &server.name,
        pool.role.description(),
        bound.len(),
        &limit,
        &report,
    );
    if let Err(e) = report.require_complete(Some(limit)) {
        out(&text)?;
        return Err(anyhow!(e).into());
    }
    if report.listening == 0 && !bound.is_empty() {
        // a cold trial ran it on a host without any of the server's addresses: it printed
        // "listening on 0 of 8" and waited forever
        out(&text)?;
        return Err(anyhow!(
            "listening on none of the {} planned socket(s): is this `{}`? (its planned addresses are not on this host; --bind-all listens on the wildcard address)",
            bound.len(),
            args.host
        )
        .into());
    }
    // the handlers are in place before the line that says we listen: a SIGTERM sent on reading it
    // must stop the listener cleanly, not kill it before it was ever polled
    let stop = {
        use tokio::signal::unix::{SignalKind, signal};
        let _guard = rt.enter();
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                _ => stop_signal().await,
            }
        }
    };
    text.push_str(&view::listen::listening(
        &report,
        bound.len(),
        listener.max_connections(),
        listener.max_connections_per_peer(),
    ));
    out(&text)?;
    let stats = rt.block_on(listener.serve(stop));
    out(&view::listen::stopped(&stats))
}
