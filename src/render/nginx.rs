//! nginx as the reverse proxy for the published web services: per reverse proxy server, a complete
//! `nginx.conf` listening on its external addresses, terminating TLS for the published names and
//! forwarding external 443 to the pools' external web services on 4443 (80 to 8080 for mobile
//! autodiscover when that feature is on, otherwise a redirect to HTTPS), and Office Web Apps on 443.
//! Upstreams are what the plan opens from the reverse proxy: a hardware balanced pool's VIP (its load
//! balancer watches the servers), otherwise the pool servers themselves, so a stopped server is
//! skipped (passive health checks).

use super::contract::{Piece, RenderError, Renderer, Subject, Unit, banner};
use crate::catalog::{Feature, ServerRole};
use crate::plan::Plan;
use crate::topology::{AddressUse, Pool, Server, Topology};
use std::fmt::Write;

pub struct Nginx;

/// Where the generated configuration expects each pool's certificate and key.
pub fn cert_path(pool: &str) -> (String, String) {
    (
        format!("/etc/portplan/tls/{pool}.crt"),
        format!("/etc/portplan/tls/{pool}.key"),
    )
}

fn listen(addr: &std::net::IpAddr, port: u16) -> String {
    match addr {
        std::net::IpAddr::V4(a) => format!("{a}:{port}"),
        std::net::IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

/// Pools the reverse proxy publishes, with the internal port it forwards 443 to.
pub(crate) fn published_pools(t: &Topology) -> Vec<(&Pool, u16)> {
    let mut out = Vec::new();
    for p in &t.pools {
        match p.role {
            ServerRole::FrontEnd | ServerRole::Director if !p.published.is_empty() => {
                out.push((p, 4443))
            }
            ServerRole::OfficeWebApps
                if !p.published.is_empty() && t.has_feature(Feature::OfficeWebApps) =>
            {
                out.push((p, 443))
            }
            _ => {}
        }
    }
    out
}

/// Where the reverse proxy sends a pool's traffic on `port`: the (IPv4) addresses of the pool that
/// the plan opens from the reverse proxy's internal side — the pool VIP of a balanced pool, its
/// servers otherwise — each with a name (`fe01`, `fepool-vip`). Following the plan keeps the proxy
/// and the firewalls in agreement. The servers when the plan has no such flow (nothing to agree with).
pub(crate) fn upstreams(plan: &Plan, pool: &Pool, port: u16) -> Vec<(String, std::net::IpAddr)> {
    let vip_host = format!("{}/", pool.name);
    let mut out: Vec<(String, std::net::IpAddr)> = Vec::new();
    for f in plan.flows.iter().filter(|f| {
        f.source.role == "reverse-proxy.internal"
            && f.transport == crate::catalog::Transport::Tcp
            && f.ports.contains(port)
    }) {
        for m in &f.destination.members {
            let ours =
                m.host.starts_with(&vip_host) || pool.servers.iter().any(|s| s.name == m.host);
            let ip = m.net.addr();
            if ours && ip.is_ipv4() && !out.iter().any(|(_, x)| *x == ip) {
                let name = match m.host.strip_prefix(&vip_host) {
                    Some(vip) => format!("{}-{vip}", pool.name),
                    None => m.host.clone(),
                };
                out.push((name, ip));
            }
        }
    }
    if out.is_empty() {
        for s in &pool.servers {
            if let Some(ip) = s
                .interfaces
                .iter()
                .flat_map(|i| i.ips(AddressUse::Host))
                .find(|ip| ip.is_ipv4())
            {
                out.push((s.name.clone(), ip));
            }
        }
    }
    out
}

pub fn config(plan: &Plan, t: &Topology, server: &Server) -> String {
    let external: Vec<std::net::IpAddr> = server
        .interface(crate::topology::Leg::External)
        .map(|i| i.ips(AddressUse::Host).collect())
        .unwrap_or_default();
    let http = t.has_feature(Feature::MobilityAutodiscoverHttp);
    let mut s = String::new();
    s.push_str(&banner(
        "#",
        &format!("reverse proxy (nginx) on {}", server.name),
        plan,
        t,
    ));
    let _ = writeln!(
        s,
        "# Certificates: {} for each published pool.",
        cert_path("POOL").0
    );
    s.push_str("worker_processes auto;\npid /run/portplan-nginx.pid;\nerror_log stderr warn;\n\n");
    s.push_str("events {\n\tworker_connections 4096;\n}\n\nhttp {\n");
    s.push_str("\taccess_log off;\n\tserver_tokens off;\n");
    // published names may be DNS names of up to 253 characters; the default bucket holds ~60
    s.push_str("\tserver_names_hash_bucket_size 512;\n");
    s.push_str(
        "\t# web services keep long-lived requests (address book, meetings, UCWA event channels)\n",
    );
    s.push_str(
        "\tproxy_read_timeout 960s;\n\tproxy_send_timeout 960s;\n\tproxy_connect_timeout 10s;\n",
    );
    s.push_str(
        "\tproxy_buffering off;\n\tproxy_request_buffering off;\n\tclient_max_body_size 0;\n",
    );
    s.push_str("\tproxy_http_version 1.1;\n\tproxy_set_header Connection \"\";\n\tproxy_set_header Host $host;\n");
    s.push_str("\tproxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\tproxy_set_header X-Forwarded-Proto $scheme;\n");
    s.push_str("\tproxy_ssl_server_name on;\n\tproxy_ssl_name $host;\n");
    s.push_str("\tproxy_next_upstream error timeout http_502 http_503;\n\n");
    let pools = published_pools(t);
    for (pool, port) in &pools {
        let _ = writeln!(s, "\tupstream {}_https {{", pool.name);
        for (_, ip) in upstreams(plan, pool, *port) {
            let _ = writeln!(s, "\t\tserver {}:{port} max_fails=2 fail_timeout=10s;", ip);
        }
        s.push_str("\t\tkeepalive 32;\n\t}\n");
        if http && *port == 4443 {
            let _ = writeln!(s, "\tupstream {}_http {{", pool.name);
            for (_, ip) in upstreams(plan, pool, 8080) {
                let _ = writeln!(s, "\t\tserver {}:8080 max_fails=2 fail_timeout=10s;", ip);
            }
            s.push_str("\t\tkeepalive 32;\n\t}\n");
        }
    }
    for (n, (pool, _)) in pools.iter().enumerate() {
        let (crt, key) = cert_path(&pool.name);
        let default = if n == 0 { " default_server" } else { "" };
        s.push_str("\n\tserver {\n");
        for a in &external {
            let _ = writeln!(s, "\t\tlisten {} ssl{default};", listen(a, 443));
        }
        let _ = writeln!(s, "\t\tserver_name {};", pool.published.join(" "));
        let _ = writeln!(
            s,
            "\t\tssl_certificate {crt};\n\t\tssl_certificate_key {key};"
        );
        s.push_str("\t\tssl_protocols TLSv1.2 TLSv1.3;\n");
        let _ = writeln!(
            s,
            "\t\tlocation / {{\n\t\t\tproxy_pass https://{}_https;\n\t\t}}\n\t}}",
            pool.name
        );
        // port 80 only where the plan opens it
        if t.has_feature(Feature::MobilityAutodiscoverHttp) {
            s.push_str("\n\tserver {\n");
            for a in &external {
                let _ = writeln!(s, "\t\tlisten {}{default};", listen(a, 80));
            }
            let _ = writeln!(s, "\t\tserver_name {};", pool.published.join(" "));
            if http && pool.role != ServerRole::OfficeWebApps {
                s.push_str(
                    "\t\t# mobile autodiscover over plain HTTP goes to the pool's port 8080\n",
                );
                let _ = writeln!(
                    s,
                    "\t\tlocation /autodiscover/ {{\n\t\t\tproxy_pass http://{}_http;\n\t\t}}",
                    pool.name
                );
            }
            s.push_str(
                "\t\tlocation / {\n\t\t\treturn 301 https://$host$request_uri;\n\t\t}\n\t}\n",
            );
        }
    }
    s.push_str("}\n");
    s
}

/// The scope the reverse proxy targets take.
pub(super) const PROXY_SCOPE: &str = "--host NAME of a reverse proxy server (or no scope); it configures proxies and pool VIPs, not firewalls";

impl Renderer for Nginx {
    fn name(&self) -> &'static str {
        "nginx"
    }
    fn units(&self) -> &'static [Unit] {
        &[Unit::Host]
    }
    fn suffix(&self, _unit: Unit) -> &'static str {
        ".nginx.conf"
    }
    fn needs_clean_lint(&self) -> bool {
        true
    }
    fn scope_hint(&self) -> &'static str {
        PROXY_SCOPE
    }
    fn nothing_because(&self) -> &'static str {
        "no reverse proxy server in scope"
    }
    fn configures_host(&self, pool: &Pool, _server: &Server) -> bool {
        pool.role == ServerRole::ReverseProxy
    }
    fn render(
        &self,
        plan: &Plan,
        t: &Topology,
        subject: &Subject<'_>,
        _selected: &[Subject<'_>],
    ) -> Result<Vec<Piece>, RenderError> {
        Ok(match subject {
            Subject::Host { server, .. } => vec![Piece::main(config(plan, t, server))],
            _ => Vec::new(),
        })
    }
}
