//! Lint a topology against the hardware load balancer requirements of the scaled Edge design, the
//! addressing of single and DNS-balanced Edges (public, or every service behind static NAT), and a
//! few deployment habits the documents insist on. Findings carry the place in the file they concern.
//!
//! The load balancer requirements are the catalog's facts (`[load_balancer]` in catalog.toml:
//! which VIPs may use source NAT, which VIP is the Edge's default gateway, whether replies must
//! leave from the contacted address, whether the internal leg needs persistent routes); this module
//! reads them and hard-codes none. [`lint_with`] is a pure function of the topology, the catalog
//! and the date the caller supplies.

use super::{AddressUse, Code, Finding, Leg, LoadBalancing, Topology, VipService};
use crate::catalog::{Catalog, ServerRole, Version};
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

/// Runs every lint over a validated topology with the built-in catalog, as of today. A convenience
/// for callers that have nothing else to pass; the work is [`lint_with`].
pub fn lint(t: &Topology) -> LintReport {
    lint_with(t, Catalog::builtin(), crate::endpoints::Date::today())
}

/// Runs every lint over a validated topology against `catalog`'s load balancer facts; `today`
/// dates the hybrid endpoint snapshot.
pub fn lint_with(t: &Topology, catalog: &Catalog, today: crate::endpoints::Date) -> LintReport {
    let facts = &catalog.load_balancer;
    let mut findings = Vec::new();
    // the networks an Edge internal leg must route to, once per zone (not once per Edge server)
    let mut needed_routes: std::collections::HashMap<&str, Vec<ipnet::IpNet>> =
        std::collections::HashMap::new();
    let mut public_addresses = Vec::new();
    let src = &t.source;

    // the VIP each Edge server routes through, when replies must leave from the contacted address
    let gateway_vip = match facts.default_gateway.parse::<VipService>() {
        Ok(service) => facts.replies_from_contacted_address.then_some(service),
        Err(e) => {
            findings.push(Finding::error(
                Code::LbGateway,
                format!("the catalog's load balancer default_gateway cannot be checked: {e}"),
            ));
            None
        }
    };
    // Skype for Business forbids SNAT on every external Edge VIP (`sfb-edge-snat`), so the catalog's
    // Lync Server 2013 allowance is not offered there
    let snat_allowed = if t.version == crate::catalog::Version::Lync2013 {
        facts.snat_allowed.join(" and ")
    } else {
        String::new()
    };

    for pool in t.pools_of(ServerRole::Edge) {
        // SNAT: only where the catalog allows it; the forbidden VIPs must see the client itself.
        for vip in &pool.vips {
            let service = vip.service.as_str();
            if vip.snat && facts.snat_forbidden.iter().any(|s| s == service) {
                let message = if vip.service == VipService::Av {
                    format!(
                        "pool `{}`: SNAT is on for the A/V Edge VIP; A/V must answer from the real server address (STUN/TURN hand that address to clients)",
                        pool.name
                    )
                } else {
                    format!(
                        "pool `{}`: SNAT is on for the {} VIP, which must see the client's own address",
                        pool.name,
                        vip.service.title()
                    )
                };
                let help = if snat_allowed.is_empty() {
                    format!("set snat = false on the {service} VIP; SNAT is allowed on no Edge VIP")
                } else {
                    format!(
                        "set snat = false on the {service} VIP; SNAT is allowed only on the {snat_allowed} VIPs"
                    )
                };
                findings.push(
                    Finding::error(Code::LbSnatAv, message)
                        .help(help)
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
                    .filter_map(|s| s.interface(Leg::External))
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
                // Lync Server 2013: the catalog's N+1 count (3 per server + 3 VIPs). Skype for
                // Business also allows one address for all services (1 per server + 1 VIP); the
                // count comes from the same function `sfb-edge-addresses` uses, so both agree.
                let (per_server, vips_needed, needed) = if t.version == Version::Lync2013 {
                    (
                        facts.public_addresses_per_server,
                        facts.vips_per_pool,
                        facts.public_addresses_needed(pool.servers.len()),
                    )
                } else {
                    let per = super::lint_sfb::addresses_per_server(pool, family == "IPv4")
                        .unwrap_or(facts.public_addresses_per_server);
                    (
                        per,
                        per,
                        super::lint_sfb::addresses_needed(
                            pool.load_balancing,
                            pool.servers.len(),
                            per,
                        ),
                    )
                };
                let count = PublicAddressCount {
                    pool: pool.name.clone(),
                    family,
                    servers: pool.servers.len(),
                    vips: vip_addrs.len(),
                    server_addresses: server_addrs.len(),
                    needed,
                };
                let total = count.total();
                let summary = format!(
                    "pool `{}`: {total} public {family} addresses ({} VIPs + {} server addresses); {} servers need {}",
                    pool.name, count.vips, count.server_addresses, count.servers, count.needed
                );
                let finding = if total == count.needed && count.vips == vips_needed {
                    Finding::info(Code::LbPublicAddresses, summary)
                } else if per_server == 1 {
                    Finding::error(Code::LbPublicAddresses, summary).help(format!(
                        "with one address for all services each Edge server needs one {family} address and the load balancer one VIP for access, webconf and av (1 per server + 1 VIP)"
                    ))
                } else {
                    Finding::error(Code::LbPublicAddresses, summary).help(format!(
                        "each Edge server needs its own {family} address for access, webconf and av, and the load balancer one VIP per service ({per_server} per server + {vips_needed} VIPs)"
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
                            Code::LbPrivateAddress,
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
                let leg = vip.service.leg();
                for server in &pool.servers {
                    if let Some(iface) = server.interface(leg)
                        && iface.zone != vip.zone
                    {
                        findings.push(
                            Finding::error(
                                Code::LbVipZone,
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

            // Default gateway: the VIP the catalog names (the Access Edge VIP), so that replies
            // leave through the address the client contacted.
            if let Some(gateway) = gateway_vip {
                let gateway_addresses: Vec<IpAddr> = pool
                    .vip(gateway)
                    .map(|v| v.addresses.clone())
                    .unwrap_or_default();
                gateways(t, pool, gateway, &gateway_addresses, &mut findings);
            }
        }

        // Address translation in front of the Edge.
        let natted = t.pool_is_natted(pool);
        if pool.load_balancing == LoadBalancing::Hlb && natted {
            findings.push(
                Finding::error(
                    Code::LbEdgeNat,
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
        for server in pool
            .servers
            .iter()
            .filter(|_| facts.persistent_internal_routes)
        {
            let Some(int) = server.interface(Leg::Internal) else {
                continue;
            };
            if let Some(default) = int.routes.iter().find(|r| r.prefix_len() == 0) {
                findings.push(
                    Finding::warning(
                        Code::EdgeInternalDefaultRoute,
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
                        Code::EdgeRoutes,
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
                Code::NarrowAnyMedia,
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
                    Code::NatPublicPrivate,
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
    findings.extend(super::hybrid::lint(t, today));
    findings.extend(super::lint_sfb::lint(t));
    LintReport {
        findings,
        public_addresses,
    }
}

/// Each Edge server's external gateway is the `gateway` VIP of its hardware-balanced pool.
fn gateways(
    t: &Topology,
    pool: &super::Pool,
    gateway: VipService,
    vip: &[IpAddr],
    findings: &mut Vec<Finding>,
) {
    let src = &t.source;
    let title = gateway.title();
    for server in &pool.servers {
        let Some(ext) = server.interface(Leg::External) else {
            continue;
        };
        if ext.gateway.is_empty() {
            findings.push(
                Finding::info(
                    Code::LbGateway,
                    format!(
                        "`{}`: no gateway given on the external interface; it should be the {title} VIP",
                        server.name
                    ),
                )
                .at(src, Some(ext.span.clone())),
            );
        } else if let Some(gw) = ext.gateway.iter().find(|g| !vip.contains(g)) {
            findings.push(
                Finding::warning(
                    Code::LbGateway,
                    format!(
                        "`{}`: default gateway {gw} is not the {title} VIP ({})",
                        server.name,
                        vip.iter()
                            .map(|a| a.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
                .help(format!("with hardware load balancers the {title} VIP is each Edge server's default gateway, so replies leave through the address the client contacted"))
                .at(src, Some(ext.span.clone())),
            );
        }
    }
}

/// A single or DNS-balanced Edge: every external service address is public, or every one is published
/// through a static NAT (the A/V Edge above all: clients and STUN are handed its public address).
fn edge_addressing(t: &Topology, pool: &super::Pool, natted: bool, findings: &mut Vec<Finding>) {
    let src = &t.source;
    for server in &pool.servers {
        let Some(ext) = server.interface(Leg::External) else {
            continue;
        };
        for (service, usage) in EXTERNAL_SERVICES {
            for ip in ext.ips(usage) {
                match (t.nat_of(ip), natted) {
                    (Some((fw, nat)), _) => {
                        let finding = Finding::info(
                            Code::EdgeNat,
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
                                "enter {} as the A/V Edge's public address in the {} topology, so STUN/TURN hands clients the address they can reach",
                                nat.public,
                                t.version.description()
                            ))
                        } else {
                            finding
                        };
                        findings.push(finding.at(src, Some(nat.span.clone())));
                    }
                    (None, true) => findings.push(
                        Finding::error(
                            Code::EdgeNatMissing,
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
                            Code::EdgePrivateAddress,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoints::Date;

    const CATALOG: &str = include_str!("../catalog/catalog.toml");

    /// The built-in catalog with one `[load_balancer]` line replaced.
    fn catalog_with(line: &str, instead: &str) -> Catalog {
        assert!(
            CATALOG.contains(line),
            "catalog.toml no longer has `{line}`"
        );
        Catalog::parse(&CATALOG.replacen(line, instead, 1)).expect("edited catalog parses")
    }

    fn topology(edit: &[(&str, &str)]) -> Topology {
        let mut text = Topology::reference_source().to_string();
        for (from, to) in edit {
            assert!(text.contains(from), "reference.toml no longer has `{from}`");
            text = text.replace(from, to);
        }
        Topology::parse("edited.toml", &text).expect("edited reference parses")
    }

    fn codes(t: &Topology, catalog: &Catalog) -> Vec<(Code, Severity)> {
        let today = Date::parse("2026-01-01").unwrap();
        lint_with(t, catalog, today)
            .findings
            .iter()
            .map(|f| (f.code, f.severity))
            .collect()
    }

    use super::super::Severity;

    #[test]
    fn lint_reads_snat_forbidden_from_the_catalog() {
        let t = topology(&[(
            "address = \"203.0.113.102\"\n  snat = false",
            "address = \"203.0.113.102\"\n  snat = true",
        )]);
        let builtin = codes(&t, Catalog::builtin());
        assert!(
            builtin.contains(&(Code::LbSnatAv, Severity::Error)),
            "{builtin:?}"
        );
        let relaxed = catalog_with("snat_forbidden = [\"av\"]", "snat_forbidden = []");
        assert!(
            !codes(&t, &relaxed)
                .iter()
                .any(|(c, _)| *c == Code::LbSnatAv)
        );
        // and the help names the VIPs the catalog allows
        let f = lint_with(&t, Catalog::builtin(), Date::parse("2026-01-01").unwrap())
            .findings
            .into_iter()
            .find(|f| f.code == Code::LbSnatAv)
            .unwrap();
        assert!(
            f.help
                .unwrap()
                .contains("only on the access and webconf VIPs")
        );
    }

    #[test]
    fn lint_reads_persistent_internal_routes_from_the_catalog() {
        let t = topology(&[("    routes = [\"10.10.0.0/16\"]\n", "")]);
        let builtin = codes(&t, Catalog::builtin());
        assert!(
            builtin.contains(&(Code::EdgeRoutes, Severity::Warning)),
            "{builtin:?}"
        );
        let no_routes = catalog_with(
            "persistent_internal_routes = true",
            "persistent_internal_routes = false",
        );
        assert!(
            !codes(&t, &no_routes)
                .iter()
                .any(|(c, _)| *c == Code::EdgeRoutes)
        );
    }

    #[test]
    fn lint_reads_the_default_gateway_vip_from_the_catalog() {
        let t = Topology::reference();
        // the reference routes through the Access Edge VIP, as the built-in facts say
        assert!(
            !codes(&t, Catalog::builtin())
                .iter()
                .any(|(c, _)| *c == Code::LbGateway)
        );
        let webconf = catalog_with(
            "default_gateway = \"access\"",
            "default_gateway = \"webconf\"",
        );
        let found = codes(&t, &webconf);
        assert!(
            found.contains(&(Code::LbGateway, Severity::Warning)),
            "{found:?}"
        );
        let report = lint_with(&t, &webconf, Date::parse("2026-01-01").unwrap());
        let f = report
            .findings
            .iter()
            .find(|f| f.code == Code::LbGateway)
            .unwrap();
        assert!(
            f.message
                .contains("Web Conferencing Edge VIP (203.0.113.101)"),
            "{}",
            f.message
        );
        // replies need not leave from the contacted address: the gateway is not checked
        let text = CATALOG
            .replacen(
                "default_gateway = \"access\"",
                "default_gateway = \"webconf\"",
                1,
            )
            .replacen(
                "replies_from_contacted_address = true",
                "replies_from_contacted_address = false",
                1,
            );
        let loose = Catalog::parse(&text).unwrap();
        assert!(!codes(&t, &loose).iter().any(|(c, _)| *c == Code::LbGateway));
        // a gateway the topology cannot name is an error, not a silently skipped check
        let bad = catalog_with(
            "default_gateway = \"access\"",
            "default_gateway = \"router\"",
        );
        assert!(codes(&t, &bad).contains(&(Code::LbGateway, Severity::Error)));
    }
}
