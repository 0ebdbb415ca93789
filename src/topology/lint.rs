//! Lint a topology against the hardware load balancer requirements of the scaled Edge design, the
//! addressing of single and DNS-balanced Edges (public, or every service behind static NAT), and a
//! few deployment habits the documents insist on. Findings carry the place in the file they concern.

use super::{AddressUse, Finding, LoadBalancing, Topology, VipService};
use crate::catalog::{Catalog, ServerRole};
use std::collections::BTreeSet;
use std::net::IpAddr;

/// The public address count of one Edge pool, per address family.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PublicAddressCount {
    pub pool: String,
    pub family: &'static str,
    pub servers: usize,
    pub vips: usize,
    pub server_addresses: usize,
    pub needed: usize,
}

impl PublicAddressCount {
    pub fn total(&self) -> usize {
        self.vips + self.server_addresses
    }
}

/// The result of linting: findings plus the N+1 address counts the report shows.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LintReport {
    pub findings: Vec<Finding>,
    pub public_addresses: Vec<PublicAddressCount>,
}

impl LintReport {
    pub fn has_errors(&self) -> bool {
        self.findings
            .iter()
            .any(|f| f.severity == super::Severity::Error)
    }
}

const EXTERNAL_SERVICES: [(VipService, AddressUse); 3] = [
    (VipService::Access, AddressUse::Access),
    (VipService::Webconf, AddressUse::Webconf),
    (VipService::Av, AddressUse::Av),
];

/// Runs every lint over a validated topology.
pub fn lint(t: &Topology) -> LintReport {
    let facts = &Catalog::builtin().load_balancer;
    let mut findings = Vec::new();
    // the networks an Edge internal leg must route to, once per zone (not once per Edge server)
    let mut needed_routes: std::collections::HashMap<&str, Vec<ipnet::IpNet>> =
        std::collections::HashMap::new();
    let mut public_addresses = Vec::new();
    let src = &t.source;

    for pool in t.pools_of(ServerRole::Edge) {
        // SNAT: allowed for Access and Web Conferencing, forbidden for A/V.
        for vip in &pool.vips {
            let service = vip.service.as_str();
            if vip.snat && facts.snat_forbidden.iter().any(|s| s == service) {
                findings.push(
                    Finding::error(
                        "lb-snat-av",
                        format!(
                            "pool `{}`: SNAT is on for the A/V Edge VIP; A/V must answer from the real server address (STUN/TURN hand that address to clients)",
                            pool.name
                        ),
                    )
                    .help("set snat = false on the av VIP; SNAT is allowed only on the access and webconf VIPs")
                    .at(src, vip.snat_span.clone().or(Some(vip.span.clone()))),
                );
            }
        }

        if pool.load_balancing == LoadBalancing::Hlb {
            // N+1 public addresses per address family.
            for (family, is_family) in [
                ("IPv4", (|ip: &IpAddr| ip.is_ipv4()) as fn(&IpAddr) -> bool),
                ("IPv6", |ip: &IpAddr| ip.is_ipv6()),
            ] {
                let vip_addrs: BTreeSet<IpAddr> = EXTERNAL_SERVICES
                    .iter()
                    .filter_map(|(svc, _)| pool.vip(*svc))
                    .flat_map(|v| v.addresses.iter().copied())
                    .filter(is_family)
                    .collect();
                let server_addrs: BTreeSet<IpAddr> = pool
                    .servers
                    .iter()
                    .filter_map(|s| s.interface("external"))
                    .flat_map(|i| {
                        EXTERNAL_SERVICES
                            .iter()
                            .flat_map(move |(_, usage)| i.ips(*usage))
                    })
                    .filter(is_family)
                    .collect();
                if vip_addrs.is_empty() && server_addrs.is_empty() {
                    continue;
                }
                let count = PublicAddressCount {
                    pool: pool.name.clone(),
                    family,
                    servers: pool.servers.len(),
                    vips: vip_addrs.len(),
                    server_addresses: server_addrs.len(),
                    needed: facts.public_addresses_needed(pool.servers.len()),
                };
                let total = count.total();
                let summary = format!(
                    "pool `{}`: {total} public {family} addresses ({} VIPs + {} server addresses); {} servers need {}",
                    pool.name, count.vips, count.server_addresses, count.servers, count.needed
                );
                let finding = if total == count.needed && count.vips == facts.vips_per_pool {
                    Finding::info("lb-public-addresses", summary)
                } else {
                    Finding::error("lb-public-addresses", summary).help(format!(
                        "each Edge server needs its own {family} address for access, webconf and av, and the load balancer one VIP per service ({} per server + {} VIPs)",
                        facts.public_addresses_per_server, facts.vips_per_pool
                    ))
                };
                findings.push(finding.at(src, Some(pool.span.clone())));
                public_addresses.push(count);

                let private: Vec<String> = vip_addrs
                    .iter()
                    .chain(server_addrs.iter())
                    .filter(|ip| !is_public(ip))
                    .map(|ip| ip.to_string())
                    .collect();
                if !private.is_empty() {
                    findings.push(
                        Finding::warning(
                            "lb-private-address",
                            format!(
                                "pool `{}`: {} on the external side {} not public ({}); the load balanced Edge design puts public addresses on the VIPs and server interfaces",
                                pool.name,
                                private.len(),
                                if private.len() == 1 { "is" } else { "are" },
                                private.join(", ")
                            ),
                        )
                        .help("use public addresses, or plan address translation on the external firewall yourself")
                        .at(src, Some(pool.span.clone())),
                    );
                }
            }

            // VIPs must sit on the same side (zone) as the server interfaces they balance.
            for vip in &pool.vips {
                let leg = if vip.service == VipService::Internal {
                    "internal"
                } else {
                    "external"
                };
                for server in &pool.servers {
                    if let Some(iface) = server.interface(leg)
                        && iface.zone != vip.zone
                    {
                        findings.push(
                            Finding::error(
                                "lb-vip-zone",
                                format!(
                                    "pool `{}`: the {} VIP is in zone `{}` but `{}`'s {leg} interface is in `{}`",
                                    pool.name,
                                    vip.service.as_str(),
                                    vip.zone,
                                    server.name,
                                    iface.zone
                                ),
                            )
                            .help("a load balancer VIP lives in the same network as the real servers it balances")
                            .at(src, Some(vip.span.clone())),
                        );
                    }
                }
            }

            // Default gateway: the Access Edge VIP.
            let access_vip: Vec<IpAddr> = pool
                .vip(VipService::Access)
                .map(|v| v.addresses.clone())
                .unwrap_or_default();
            for server in &pool.servers {
                let Some(ext) = server.interface("external") else {
                    continue;
                };
                if ext.gateway.is_empty() {
                    findings.push(
                        Finding::info(
                            "lb-gateway",
                            format!(
                                "`{}`: no gateway given on the external interface; it should be the Access Edge VIP",
                                server.name
                            ),
                        )
                        .at(src, Some(ext.span.clone())),
                    );
                } else if let Some(gw) = ext.gateway.iter().find(|g| !access_vip.contains(g)) {
                    findings.push(
                        Finding::warning(
                            "lb-gateway",
                            format!(
                                "`{}`: default gateway {gw} is not the Access Edge VIP ({})",
                                server.name,
                                access_vip
                                    .iter()
                                    .map(|a| a.to_string())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        )
                        .help("with hardware load balancers the Access Edge VIP is each Edge server's default gateway, so replies leave through the address the client contacted")
                        .at(src, Some(ext.span.clone())),
                    );
                }
            }
        }

        // Address translation in front of the Edge.
        let natted = t.pool_is_natted(pool);
        if pool.load_balancing == LoadBalancing::Hlb && natted {
            findings.push(
                Finding::error(
                    "lb-edge-nat",
                    format!(
                        "pool `{}`: the hardware load balanced Edge design uses public addresses on the VIPs and server interfaces, but some are translated by a static NAT",
                        pool.name
                    ),
                )
                .help("remove the NAT entries (public addresses on the Edge), or balance the pool with DNS (load_balancing = \"dns\")")
                .at(src, Some(pool.span.clone())),
            );
        }
        if pool.load_balancing != LoadBalancing::Hlb {
            edge_addressing(t, pool, natted, &mut findings);
        }

        // Internal side: persistent routes to every internal network that hosts servers or clients.
        for server in &pool.servers {
            let Some(int) = server.interface("internal") else {
                continue;
            };
            if let Some(default) = int.routes.iter().find(|r| r.prefix_len() == 0) {
                findings.push(
                    Finding::warning(
                        "edge-internal-default-route",
                        format!(
                            "`{}`: the internal interface routes {default}: a second default gateway beside the external one",
                            server.name
                        ),
                    )
                    .help("the Edge's only default gateway is on the external side; list the internal networks in `routes` instead")
                    .at(src, Some(int.span.clone())),
                );
            }
            let needed = needed_routes
                .entry(int.zone.as_str())
                .or_insert_with(|| internal_networks(t, &int.zone));
            let missing: Vec<String> = needed
                .iter()
                .filter(|n| !int.routes.iter().any(|r| r.contains(*n)))
                .map(|n| n.to_string())
                .collect();
            if !missing.is_empty() {
                findings.push(
                    Finding::warning(
                        "edge-routes",
                        format!(
                            "`{}`: no persistent route on the internal interface for {}",
                            server.name,
                            missing.join(", ")
                        ),
                    )
                    .help("the Edge's default gateway is on the external side; add `routes` covering every internal network with servers or clients (route -p)")
                    .at(src, Some(int.span.clone())),
                );
            }
        }
    }

    if t.narrow_any {
        findings.push(
            Finding::warning(
                "narrow-any-media",
                "narrow_any limits the internal Edge A/V rows (3478/udp, 443/tcp) to servers; internal clients send media there too, so their calls with external users can fail",
            )
            .help("keep narrow_any = false unless clients reach the Edge another way")
            .at(src, t.narrow_any_span.clone()),
        );
    }
    for fw in &t.firewalls {
        for n in fw.nat.iter().filter(|n| !is_public(&n.public)) {
            findings.push(
                Finding::warning(
                    "nat-public-private",
                    format!(
                        "`{}` publishes {} as {}, a private address: the internet cannot reach it, and clients handed it (the A/V Edge's above all) cannot use it",
                        fw.name, n.private, n.public
                    ),
                )
                .help("use the public address of the internet side, unless another NAT in front translates this one again")
                .at(src, Some(n.span.clone())),
            );
        }
    }
    findings.extend(super::hybrid::lint(t, crate::endpoints::Date::today()));
    findings.extend(super::lint_sfb::lint(t));
    LintReport {
        findings,
        public_addresses,
    }
}

/// A single or DNS-balanced Edge: every external service address is public, or every one is published
/// through a static NAT (the A/V Edge above all: clients and STUN are handed its public address).
fn edge_addressing(t: &Topology, pool: &super::Pool, natted: bool, findings: &mut Vec<Finding>) {
    let src = &t.source;
    for server in &pool.servers {
        let Some(ext) = server.interface("external") else {
            continue;
        };
        for (service, usage) in EXTERNAL_SERVICES {
            for ip in ext.ips(usage) {
                match (t.nat_of(ip), natted) {
                    (Some((fw, nat)), _) => {
                        let finding = Finding::info(
                            "edge-nat",
                            format!(
                                "`{}`: {} Edge {ip} is published as {} by `{}`",
                                server.name,
                                service.as_str(),
                                nat.public,
                                fw.name
                            ),
                        );
                        let finding = if service == VipService::Av {
                            finding.help(format!(
                                "enter {} as the A/V Edge's public address in the Lync topology, so STUN/TURN hands clients the address they can reach",
                                nat.public
                            ))
                        } else {
                            finding
                        };
                        findings.push(finding.at(src, Some(nat.span.clone())));
                    }
                    (None, true) => findings.push(
                        Finding::error(
                            "edge-nat-missing",
                            format!(
                                "`{}`: the {} Edge address {ip} has no static NAT, while other addresses of pool `{}` do",
                                server.name,
                                service.as_str(),
                                pool.name
                            ),
                        )
                        .help(format!(
                            "add [[firewall.nat]] with private = \"{ip}\" and its public address on the external firewall"
                        ))
                        .at(src, Some(ext.span.clone())),
                    ),
                    (None, false) if !is_public(&ip) => findings.push(
                        Finding::warning(
                            "edge-private-address",
                            format!(
                                "`{}`: the {} Edge address {ip} is private and no firewall translates it; external users cannot reach it",
                                server.name,
                                service.as_str()
                            ),
                        )
                        .help("publish it with a [[firewall.nat]] entry on the external firewall, or use a public address")
                        .at(src, Some(ext.span.clone())),
                    ),
                    (None, false) => {}
                }
            }
        }
    }
}

/// Networks of zones other than `edge_zone` that host servers or clients and are not the internet.
fn internal_networks(t: &Topology, edge_zone: &str) -> Vec<ipnet::IpNet> {
    // kept in first-seen order; a network is left out when a kept one already holds it, found by
    // looking up each of its supernets in a set (at most 129 probes) instead of scanning the list
    let mut nets: Vec<ipnet::IpNet> = Vec::new();
    let mut kept: std::collections::HashSet<ipnet::IpNet> = std::collections::HashSet::new();
    let mut add = |zone: &str, net: ipnet::IpNet| {
        let inside = t
            .zone(zone)
            .is_some_and(|z| z.kind == super::ZoneKind::Internal);
        if zone == edge_zone || !inside {
            return;
        }
        let held = (0..=net.prefix_len()).any(|len| {
            ipnet::IpNet::new(net.addr(), len)
                .is_ok_and(|super_net| kept.contains(&super_net.trunc()))
        });
        if !held {
            kept.insert(net.trunc());
            nets.push(net);
        }
    };
    for (pool, server) in t.servers() {
        if pool.role == ServerRole::Edge {
            continue;
        }
        for i in &server.interfaces {
            for a in &i.addresses {
                add(&i.zone, ipnet::IpNet::from(a.ip));
            }
        }
    }
    for c in &t.clients {
        for n in &c.networks {
            add(&c.zone, *n);
        }
    }
    nets
}

/// Not private, loopback, link-local, documentation-free of meaning… roughly "routable on the internet".
/// Documentation ranges count as public so the examples read like real deployments.
fn is_public(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || (seg & 0xfe00) == 0xfc00
                || (seg & 0xffc0) == 0xfe80)
        }
    }
}
