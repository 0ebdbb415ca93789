//! The Skype for Business Server Edge rules of the lint (`portplan check`), for topologies whose
//! `version` is a Skype for Business release (Lync Server 2013 topologies are not judged by them).
//! The rules come from the Skype for Business Edge environmental requirements page (topology and IP
//! address planning) and the load balancing requirements page:
//! - NAT in front of the Edge is symmetric and leaves the source address of incoming traffic as it
//!   is: no SNAT on an external Edge VIP (`sfb-edge-snat`); every external address of one Edge
//!   server is translated by one firewall, the one its default gateway points at
//!   (`sfb-edge-nat-asymmetric`);
//! - NAT only for a pool balanced by DNS: `lb-edge-nat` in `lint.rs` already holds for every version;
//! - a hardware balanced pool may leave out its internal VIP, which the page keeps for Exchange
//!   2007/2010 UM and legacy clients only: a note says so (`sfb-edge-no-internal-vip`);
//! - the servers of one Edge pool reach each other on their public A/V addresses: the plan must carry
//!   that traffic wherever a firewall is between them (`sfb-edge-av-peers`);
//! - the number of external addresses per design (single Edge, DNS pool, hardware balanced pool;
//!   one address per service or one for all, the latter refused earlier when the file is read:
//!   `shared-service-address`) from the page's tables (`sfb-edge-addresses`), and the
//!   largest supported pool (`sfb-edge-pool-size`).

use super::{AddressUse, Code, Finding, Leg, LoadBalancing, Pool, Server, Topology, VipService};
use crate::catalog::{ServerRole, Version};
use std::collections::BTreeSet;
use std::net::IpAddr;

/// Where these rules come from, for the messages.
const EDGE_PAGE: &str = "edge-environmental-requirements";
const LB_PAGE: &str = "load-balancing";

/// The page supports up to this many Edge servers in one pool.
const MAX_SUPPORTED_POOL: usize = 12;

const EXTERNAL: [AddressUse; 3] = [AddressUse::Access, AddressUse::Webconf, AddressUse::Av];

/// The Skype for Business Edge findings of `t`; none for Lync Server 2013.
pub fn lint(t: &Topology) -> Vec<Finding> {
    if t.version == Version::Lync2013 {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut plan = None;
    for pool in t.pools_of(ServerRole::Edge) {
        no_source_rewriting(t, pool, &mut out);
        internal_vip(t, pool, &mut out);
        symmetric_nat(t, pool, &mut out);
        address_counts(t, pool, &mut out);
        if pool.servers.len() > 1 {
            let plan = plan.get_or_insert_with(|| crate::plan::compile(t));
            av_peers(t, pool, plan, &mut out);
        }
    }
    out
}

/// The requirements of the Skype for Business Edge page that `plan` carries no rule for, as the
/// warnings `check` gives: today the A/V peers of an Edge pool whose servers are behind NAT or in
/// different zones (`sfb-edge-av-peers`). The page names no port or protocol for that traffic and
/// the planner has no NAT hairpin, so no rule is invented; `plan` lists these for the user to allow
/// by hand. Empty for Lync Server 2013.
pub fn unplanned(t: &Topology, plan: &crate::plan::Plan) -> Vec<Finding> {
    if t.version == Version::Lync2013 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for pool in t.pools_of(ServerRole::Edge).filter(|p| p.servers.len() > 1) {
        av_peers(t, pool, plan, &mut out);
    }
    out.retain(|f| f.severity != super::Severity::Info);
    out
}

/// SNAT on an external Edge VIP hands the Edge the load balancer's address instead of the client's;
/// the A/V Edge needs the real source to find the media path. (A/V itself: `lb-snat-av`.)
fn no_source_rewriting(t: &Topology, pool: &Pool, out: &mut Vec<Finding>) {
    if pool.load_balancing != LoadBalancing::Hlb {
        return;
    }
    for vip in pool
        .vips
        .iter()
        .filter(|v| v.snat && matches!(v.service, VipService::Access | VipService::Webconf))
    {
        out.push(
            Finding::error(
                Code::SfbEdgeSnat,
                format!(
                    "pool `{}`: SNAT is on for the {} Edge VIP; on {} the load balancer and any NAT in front of the Edge must keep the client's source address of incoming traffic (pages {EDGE_PAGE}, {LB_PAGE})",
                    pool.name,
                    vip.service.as_str(),
                    t.version.description()
                ),
            )
            .help("set snat = false on the VIP (Lync Server 2013 allowed SNAT on the access and webconf VIPs; Skype for Business does not)")
            .at(&t.source, vip.snat_span.clone().or(Some(vip.span.clone()))),
        );
    }
}

/// A hardware balanced pool may go without its internal VIP on Skype for Business (see
/// [`super::roles::vip_optional`]): a note says what is planned instead and who still needs the VIP.
fn internal_vip(t: &Topology, pool: &Pool, out: &mut Vec<Finding>) {
    if pool.load_balancing != LoadBalancing::Hlb
        || pool.vips.iter().any(|v| v.service == VipService::Internal)
    {
        return;
    }
    out.push(
        Finding::info(
            Code::SfbEdgeNoInternalVip,
            format!(
                "pool `{}` has no internal VIP: the internal servers reach each Edge server's internal address, as the Central Management store routes them (page {EDGE_PAGE}); an internal VIP is needed only for Exchange 2007 or 2010 Unified Messaging or for legacy clients using the Edge",
                pool.name
            ),
        )
        .help("add [[pool.vip]] with service = \"internal\" if Exchange 2007/2010 UM or legacy clients use this Edge pool")
        .at(&t.source, Some(pool.span.clone())),
    );
}

/// Symmetric NAT: the firewall that translates a server's incoming traffic also carries (and
/// translates) what the server sends, so all of one server's external addresses sit behind one
/// firewall and its default gateway is that firewall.
fn symmetric_nat(t: &Topology, pool: &Pool, out: &mut Vec<Finding>) {
    for server in &pool.servers {
        let Some(ext) = server.interface(Leg::External) else {
            continue;
        };
        let translating: BTreeSet<&str> = EXTERNAL
            .iter()
            .flat_map(|u| ext.ips(*u))
            .filter_map(|ip| t.nat_of(ip))
            .map(|(fw, _)| fw.name.as_str())
            .collect();
        if translating.is_empty() {
            continue;
        }
        if translating.len() > 1 {
            out.push(
                Finding::error(
                    Code::SfbEdgeNatAsymmetric,
                    format!(
                        "`{}`: its external addresses are translated by {} firewalls ({}); symmetric NAT needs one device translating both directions (page {EDGE_PAGE})",
                        server.name,
                        translating.len(),
                        translating.iter().copied().collect::<Vec<_>>().join(", ")
                    ),
                )
                .help("put every [[firewall.nat]] entry of this Edge server on the one external firewall in front of it")
                .at(&t.source, Some(ext.span.clone())),
            );
            continue;
        }
        let nat_fw = translating.first().copied().unwrap_or_default();
        for gw in &ext.gateway {
            let owner = t.firewalls.iter().find(|f| {
                f.interfaces
                    .iter()
                    .any(|i| i.addresses.iter().any(|a| a.addr() == *gw))
            });
            match owner {
                Some(f) if f.name != nat_fw => out.push(
                    Finding::error(
                        Code::SfbEdgeNatAsymmetric,
                        format!(
                            "`{}`: default gateway {gw} is firewall `{}`, but `{nat_fw}` translates its addresses; what the Edge sends would leave untranslated, so the NAT is not symmetric (page {EDGE_PAGE})",
                            server.name, f.name
                        ),
                    )
                    .help(format!(
                        "point the external gateway at `{nat_fw}`, or move the NAT entries to `{}`",
                        f.name
                    ))
                    .at(&t.source, Some(ext.span.clone())),
                ),
                Some(_) => {}
                None => out.push(
                    Finding::warning(
                        Code::SfbEdgeNatAsymmetric,
                        format!(
                            "`{}`: default gateway {gw} is no firewall of the topology, so portplan cannot tell whether the Edge's outgoing traffic passes `{nat_fw}`, which translates its addresses",
                            server.name
                        ),
                    )
                    .help(format!(
                        "give `{nat_fw}`'s interface address in that zone as the gateway"
                    ))
                    .at(&t.source, Some(ext.span.clone())),
                ),
            }
        }
    }
}

/// The external addresses of one Edge server, per family: distinct addresses of its three services.
fn server_addresses(server: &Server, v4: bool) -> BTreeSet<IpAddr> {
    server
        .interface(Leg::External)
        .map(|ext| {
            EXTERNAL
                .iter()
                .flat_map(|u| ext.ips(*u))
                .filter(|ip| ip.is_ipv4() == v4)
                .collect()
        })
        .unwrap_or_default()
}

/// The page's address counts: per server three addresses (one per service) or one for all, and for
/// a hardware balanced pool one VIP per service (three, or one when the services share an address).
pub fn addresses_needed(load_balancing: LoadBalancing, servers: usize, per_server: usize) -> usize {
    match load_balancing {
        LoadBalancing::Hlb => per_server + per_server * servers,
        _ => per_server * servers,
    }
}

/// The design of a pool's external addressing in one family, as the page's tables know it: 1 when
/// every server that has addresses of the family uses one address for all three services, 3 when
/// every such server has one per service; `None` when the servers mix designs or have none (the
/// `sfb-edge-addresses` findings say which). `lb-public-addresses` counts with this for Skype for
/// Business pools, so the two checks ask for the same number.
pub fn addresses_per_server(pool: &Pool, v4: bool) -> Option<usize> {
    let sizes: BTreeSet<usize> = pool
        .servers
        .iter()
        .map(|s| server_addresses(s, v4).len())
        .filter(|n| *n > 0)
        .collect();
    match sizes.iter().copied().collect::<Vec<_>>()[..] {
        [n @ (1 | 3)] => Some(n),
        _ => None,
    }
}

fn address_counts(t: &Topology, pool: &Pool, out: &mut Vec<Finding>) {
    let src = &t.source;
    let servers = pool.servers.len();
    if servers > MAX_SUPPORTED_POOL {
        out.push(
            Finding::warning(
                Code::SfbEdgePoolSize,
                format!(
                    "pool `{}` has {servers} Edge servers; one Edge pool is supported up to {MAX_SUPPORTED_POOL} (page {EDGE_PAGE})",
                    pool.name
                ),
            )
            .help("split the servers over more Edge pools")
            .at(src, Some(pool.span.clone())),
        );
    }
    let design = match pool.load_balancing {
        LoadBalancing::Hlb => "hardware load balanced Edge pool",
        LoadBalancing::None => "single Edge",
        _ => "DNS load balanced Edge pool",
    };
    for (family, v4) in [("IPv4", true), ("IPv6", false)] {
        let per: Vec<(&Server, BTreeSet<IpAddr>)> = pool
            .servers
            .iter()
            .map(|s| (s, server_addresses(s, v4)))
            .filter(|(_, a)| !a.is_empty())
            .collect();
        if per.is_empty() {
            continue;
        }
        let odd: Vec<String> = per
            .iter()
            .filter(|(_, a)| a.len() == 2)
            .map(|(s, _)| format!("`{}`", s.name))
            .collect();
        if !odd.is_empty() {
            out.push(
                Finding::error(
                    Code::SfbEdgeAddresses,
                    format!(
                        "pool `{}`: {} {} two external {family} addresses for three services; the page's designs are one address per service or one for all (page {EDGE_PAGE})",
                        pool.name,
                        odd.join(", "),
                        if odd.len() == 1 { "has" } else { "have" }
                    ),
                )
                .help("give access, webconf and av an address each")
                .at(src, Some(pool.span.clone())),
            );
            continue;
        }
        let sizes: BTreeSet<usize> = per.iter().map(|(_, a)| a.len()).collect();
        if sizes.len() > 1 {
            out.push(
                Finding::error(
                    Code::SfbEdgeAddresses,
                    format!(
                        "pool `{}`: some servers have one {family} address per service and some one for all; a pool uses one design",
                        pool.name
                    ),
                )
                .at(src, Some(pool.span.clone())),
            );
            continue;
        }
        let per_server = sizes.first().copied().unwrap_or(3);
        let server_count: usize = per.iter().map(|(_, a)| a.len()).sum();
        let vips: BTreeSet<IpAddr> = if pool.load_balancing == LoadBalancing::Hlb {
            pool.vips
                .iter()
                .filter(|v| v.service != VipService::Internal)
                .flat_map(|v| v.addresses.iter().copied())
                .filter(|ip| ip.is_ipv4() == v4)
                .collect()
        } else {
            BTreeSet::new()
        };
        let have = server_count + vips.len();
        let needed = addresses_needed(pool.load_balancing, per.len(), per_server);
        let layout = if per_server == 1 {
            "one address for all services"
        } else {
            "one address per service"
        };
        let natted: Vec<IpAddr> = per
            .iter()
            .flat_map(|(_, a)| a.iter())
            .filter_map(|ip| t.nat_of(*ip).map(|(_, n)| n.public))
            .collect();
        let translation = if natted.is_empty() {
            format!("{have} public")
        } else {
            format!(
                "{server_count} private behind NAT, published by {} public",
                natted.len()
            )
        };
        let summary = format!(
            "pool `{}`: {design} with {} server(s), {layout}: the page's table asks for {needed} {family} addresses{}; it has {translation}{}",
            pool.name,
            per.len(),
            if pool.load_balancing == LoadBalancing::Hlb {
                format!(
                    " ({per_server} VIPs + {} server addresses)",
                    per_server * per.len()
                )
            } else {
                String::new()
            },
            if vips.is_empty() {
                String::new()
            } else {
                format!(" ({} VIPs + {server_count} server addresses)", vips.len())
            }
        );
        let finding = if have == needed {
            Finding::info(Code::SfbEdgeAddresses, summary)
        } else {
            Finding::error(Code::SfbEdgeAddresses, summary).help(format!(
                "each Edge server needs {per_server} external {family} address(es){}",
                if pool.load_balancing == LoadBalancing::Hlb {
                    format!(" and the load balancer {per_server} VIP(s)")
                } else {
                    String::new()
                }
            ))
        };
        out.push(finding.at(src, Some(pool.span.clone())));
    }
}

/// The servers of a pool talk to each other from and to their public A/V addresses. Inside one
/// zone without NAT no firewall is on the way; otherwise the plan must have a rule for each pair
/// (with NAT the traffic turns round on the translating firewall).
fn av_peers(t: &Topology, pool: &Pool, plan: &crate::plan::Plan, out: &mut Vec<Finding>) {
    struct Av<'a> {
        server: &'a str,
        zone: &'a str,
        ip: IpAddr,
        public: Option<IpAddr>,
    }
    let avs: Vec<Av> = pool
        .servers
        .iter()
        .filter_map(|s| {
            let ext = s.interface(Leg::External)?;
            let ip = ext.ips(AddressUse::Av).next()?;
            Some(Av {
                server: &s.name,
                zone: &ext.zone,
                ip,
                public: t.nat_of(ip).map(|(_, n)| n.public),
            })
        })
        .collect();
    if avs.len() < 2 {
        return;
    }
    let direct = avs
        .iter()
        .all(|a| a.zone == avs[0].zone && a.public.is_none());
    if direct {
        out.push(
            Finding::info(
                Code::SfbEdgeAvPeers,
                format!(
                    "pool `{}`: the A/V Edge addresses of its {} servers are public and in zone `{}`, so the servers reach each other there without a firewall (page {EDGE_PAGE})",
                    pool.name,
                    avs.len(),
                    avs[0].zone
                ),
            )
            .at(&t.source, Some(pool.span.clone())),
        );
        return;
    }
    let mut missing = Vec::new();
    let mut found = BTreeSet::new();
    for a in &avs {
        for b in avs.iter().filter(|b| b.server != a.server) {
            let hit: Vec<usize> = plan
                .rules
                .iter()
                .filter(|r| {
                    r.ingress_zone == a.zone
                        && r.egress_zone == b.zone
                        && r.source.members.iter().any(|m| m.net.contains(&a.ip))
                        && r.destination.members.iter().any(|m| {
                            m.net.contains(&b.ip) || b.public.is_some_and(|p| m.net.contains(&p))
                        })
                })
                .map(|r| r.id)
                .collect();
            if hit.is_empty() {
                missing.push(format!(
                    "{} {} -> {} {}",
                    a.server,
                    a.ip,
                    b.server,
                    b.public.unwrap_or(b.ip)
                ));
            }
            found.extend(hit);
        }
    }
    if missing.is_empty() {
        out.push(
            Finding::info(
                Code::SfbEdgeAvPeers,
                format!(
                    "pool `{}`: the plan lets its servers reach each other's A/V Edge addresses ({})",
                    pool.name,
                    crate::plan::rule_tags_text(&found.into_iter().collect::<Vec<_>>())
                ),
            )
            .at(&t.source, Some(pool.span.clone())),
        );
    } else {
        let hairpin = avs.iter().any(|a| a.public.is_some());
        out.push(
            Finding::warning(
                Code::SfbEdgeAvPeers,
                format!(
                    "pool `{}`: the servers must reach each other from and to their public A/V Edge addresses, and the plan has no rule for {} (page {EDGE_PAGE}, which names no port or protocol for it)",
                    pool.name,
                    missing.join(", ")
                ),
            )
            .help(if hairpin {
                "the traffic goes to the peer's public address and turns round on the NAT firewall: allow it there by hand (NAT hairpin, in and out of the same interface: translate the destination to the peer's private address and the source to the sender's public one), which portplan does not plan"
            } else {
                "allow the A/V Edge addresses of the pool to each other on the firewall between them by hand"
            })
            .at(&t.source, Some(pool.span.clone())),
        );
    }
}
