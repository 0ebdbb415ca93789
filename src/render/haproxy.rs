//! HAProxy: the reverse proxy as an alternative to nginx (TCP passthrough of external 443 to the
//! pools' 4443 chosen by SNI, so the pools keep their own certificates; port 80 redirected to HTTPS
//! or, for mobile autodiscover, passed to 8080), and the Director / Front End pool web service VIPs
//! as TCP load balancers with health checks on the real servers.

use super::contract::{Piece, RenderError, Renderer, Subject, Unit, banner, services_towards};
use super::nginx::PROXY_SCOPE;
use super::nginx::{published_pools, upstreams};
use crate::catalog::{Feature, ServerRole, Transport};
use crate::plan::Plan;
use crate::topology::{AddressUse, Pool, Server, Topology, VipService};
use std::fmt::Write;

pub struct Haproxy;

const HEAD: &str = "global\n\tlog stdout format raw local0\n\tmaxconn 20000\n\ndefaults\n\tlog global\n\tmode tcp\n\toption tcplog\n\ttimeout connect 5s\n\ttimeout client 960s\n\ttimeout server 960s\n\ttimeout check 3s\n";

fn bind(a: &std::net::IpAddr, port: u16) -> String {
    match a {
        std::net::IpAddr::V4(v) => format!("{v}:{port}"),
        std::net::IpAddr::V6(v) => format!("[{v}]:{port}"),
    }
}

fn reverse_proxy(plan: &Plan, t: &Topology, server: &crate::topology::Server) -> String {
    let external: Vec<std::net::IpAddr> = server
        .interface(crate::topology::Leg::External)
        .map(|i| i.ips(AddressUse::Host).collect())
        .unwrap_or_default();
    let mut s = banner(
        "#",
        &format!("reverse proxy (HAProxy) on {}", server.name),
        plan,
        t,
    );
    s.push_str(HEAD);
    let pools = published_pools(t);
    let _ = writeln!(s, "\nfrontend published_https");
    for a in &external {
        let _ = writeln!(s, "\tbind {}", bind(a, 443));
    }
    s.push_str("\ttcp-request inspect-delay 5s\n\ttcp-request content accept if { req_ssl_hello_type 1 }\n");
    for (pool, _) in &pools {
        let _ = writeln!(
            s,
            "\tuse_backend {}_https if {{ req_ssl_sni -i {} }}",
            pool.name,
            pool.published.join(" ")
        );
    }
    if let Some((first, _)) = pools.first() {
        let _ = writeln!(s, "\tdefault_backend {}_https", first.name);
    }
    if t.has_feature(Feature::MobilityAutodiscoverHttp) {
        s.push_str("\nfrontend published_http\n\tmode http\n");
        for a in &external {
            let _ = writeln!(s, "\tbind {}", bind(a, 80));
        }
        s.push_str("\tacl autodiscover path_beg /autodiscover/\n");
        s.push_str("\thttp-request redirect scheme https code 301 unless autodiscover\n");
        if let Some((first, _)) = pools
            .iter()
            .find(|(p, _)| p.role != ServerRole::OfficeWebApps)
        {
            let _ = writeln!(s, "\tuse_backend {}_http if autodiscover", first.name);
        }
    }
    for (pool, port) in &pools {
        let _ = writeln!(s, "\nbackend {}_https\n\tbalance leastconn", pool.name);
        for (name, ip) in upstreams(plan, pool, *port) {
            let _ = writeln!(s, "\tserver {name} {ip}:{port} check");
        }
        if t.has_feature(Feature::MobilityAutodiscoverHttp)
            && pool.role != ServerRole::OfficeWebApps
        {
            let _ = writeln!(
                s,
                "\nbackend {}_http\n\tmode http\n\tbalance roundrobin\n\toption httpchk GET /",
                pool.name
            );
            for (name, ip) in upstreams(plan, pool, 8080) {
                let _ = writeln!(s, "\tserver {name} {ip}:8080 check");
            }
        }
    }
    s
}

fn pool_vip(plan: &Plan, t: &Topology, pool: &crate::topology::Pool) -> Option<String> {
    let vip = pool.vip(VipService::Pool)?;
    let services = services_towards(plan, &vip.addresses);
    let tcp: Vec<u16> = services
        .iter()
        .filter(|(tr, p)| *tr == Transport::Tcp && p.is_single())
        .map(|(_, p)| p.start)
        .collect();
    if tcp.is_empty() {
        return None;
    }
    let mut s = banner(
        "#",
        &format!("{} pool VIP (HAProxy, TCP)", pool.name),
        plan,
        t,
    );
    s.push_str(HEAD);
    for port in &tcp {
        let _ = writeln!(s, "\nfrontend {}_{port}", pool.name);
        for a in &vip.addresses {
            let _ = writeln!(s, "\tbind {}", bind(a, *port));
        }
        let _ = writeln!(s, "\tdefault_backend {}_{port}", pool.name);
        let _ = writeln!(
            s,
            "\nbackend {}_{port}\n\tbalance source\n\toption tcp-check",
            pool.name
        );
        for (name, ip) in pool.backends(vip, true) {
            let _ = writeln!(
                s,
                "\tserver {name} {ip}:{port} check inter 5s fall 2 rise 2"
            );
        }
    }
    Some(s)
}

impl Renderer for Haproxy {
    fn name(&self) -> &'static str {
        "haproxy"
    }
    /// The reverse proxy servers, then the hardware-balanced Director / Front End pools.
    fn units(&self) -> &'static [Unit] {
        &[Unit::Host, Unit::Pool]
    }
    fn suffix(&self, unit: Unit) -> &'static str {
        match unit {
            Unit::Pool => "-vip.haproxy.cfg",
            _ => ".haproxy.cfg",
        }
    }
    fn needs_clean_lint(&self) -> bool {
        true
    }
    fn scope_hint(&self) -> &'static str {
        PROXY_SCOPE
    }
    fn nothing_because(&self) -> &'static str {
        "no reverse proxy server or hardware-balanced Director / Front End pool in scope"
    }
    fn configures_host(&self, pool: &Pool, _server: &Server) -> bool {
        pool.role == ServerRole::ReverseProxy
    }
    /// Director and Front End pools; one gets a file only when planned TCP services end on its
    /// pool VIP.
    fn configures_pool(&self, pool: &Pool) -> bool {
        matches!(pool.role, ServerRole::Director | ServerRole::FrontEnd)
    }
    fn render(
        &self,
        plan: &Plan,
        t: &Topology,
        subject: &Subject<'_>,
        _selected: &[Subject<'_>],
    ) -> Result<Vec<Piece>, RenderError> {
        Ok(match subject {
            Subject::Host { server, .. } => vec![Piece::main(reverse_proxy(plan, t, server))],
            Subject::Pool(pool) => pool_vip(plan, t, pool)
                .map(Piece::main)
                .into_iter()
                .collect(),
            _ => Vec::new(),
        })
    }
}
