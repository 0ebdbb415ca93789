//! What to test: the flows a host must be able to open (probe) and the ports it must answer on
//! (listen), both read from the plan. Only addresses the topology names are contacted, plus the
//! hosts the user names inside a network destination with [`Dial`] (`probe --dial`, e.g. one
//! Microsoft 365 address); other network destinations (`any`, endpoint ranges) have nothing
//! concrete to test and are reported as skipped.

use crate::catalog::{PortRange, Transport};
use crate::plan::{Flow, Group, Plan};
use crate::topology::Topology;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// How a port is exercised beyond the TCP handshake or UDP answer: declared per service label in
/// the catalog.
pub use crate::catalog::ProbeKind as Kind;

/// The probe kind of a flow: the one its service label declares in the catalog. A label the
/// catalog does not declare (only a plan compiled from other catalog data can hold one) gets the
/// least a probe can claim: that the port opens.
pub fn kind_of(f: &Flow) -> Kind {
    crate::catalog::Catalog::builtin()
        .probe_kind(&f.service)
        .unwrap_or(Kind::Plain)
}

/// Ports of a range that are tested: the first, the middle and the last. `listen` answers on the
/// same ones unless told to take the whole range.
pub fn sample(range: PortRange) -> Vec<u16> {
    let mid = range.start + (range.end - range.start) / 2;
    let mut ports = vec![range.start, mid, range.end];
    ports.dedup();
    ports
}

/// Where a probe run starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A server of the topology (name, its addresses): flows whose source is that server, or a
    /// network (`any`, clients) that contains one of its addresses; probes leave from that address.
    Server(String, Vec<(String, IpAddr)>),
    /// A host somewhere in a zone (`any` on that side): flows whose source is a network of the zone.
    Zone(String),
    /// A host in a client network.
    Clients(String),
}

/// Resolves `--from NAME`: a server, a client network, or a zone.
pub fn origin(t: &Topology, name: &str) -> Result<Origin, String> {
    if let Some((_, s)) = t.servers().find(|(_, s)| s.name == name) {
        let addrs = s
            .interfaces
            .iter()
            .flat_map(|i| i.addresses.iter().map(|a| (i.zone.clone(), a.ip)))
            .collect();
        return Ok(Origin::Server(name.into(), addrs));
    }
    if t.clients.iter().any(|c| c.name == name) {
        return Ok(Origin::Clients(name.into()));
    }
    if t.zone(name).is_some() {
        return Ok(Origin::Zone(name.into()));
    }
    let mut known: Vec<&str> = t.servers().map(|(_, s)| s.name.as_str()).collect();
    known.extend(t.clients.iter().map(|c| c.name.as_str()));
    known.extend(t.zones.iter().map(|z| z.name.as_str()));
    Err(format!(
        "`{name}` is not a server, client network or zone of the topology (known: {})",
        known.join(", ")
    ))
}

/// One connection attempt the prober makes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Target {
    /// 1-based index of the flow in the plan (`plan.flows`).
    pub flow: usize,
    /// The planned firewall rules this attempt exercises: the flow's rules of the destination's
    /// address family, one per firewall on the way (`["r38"]`); empty when no firewall is crossed.
    #[serde(
        serialize_with = "crate::plan::rule_tags",
        deserialize_with = "crate::plan::rule_tags_from"
    )]
    pub rules: Vec<usize>,
    pub rows: String,
    pub service: String,
    pub reason: String,
    pub transport: Transport,
    pub port: u16,
    /// The flow's whole range when `port` is a sample of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<PortRange>,
    /// Source address to bind (a server origin); the OS chooses otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<IpAddr>,
    pub destination: IpAddr,
    pub destination_host: String,
    /// The server's own (private) address when `destination` is its static NAT public address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nat_of: Option<IpAddr>,
    pub kind: Kind,
}

/// A flow of the origin that has nothing to test, and why.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Untestable {
    pub flow: usize,
    /// The planned rules of the flow (every family).
    #[serde(
        serialize_with = "crate::plan::rule_tags",
        deserialize_with = "crate::plan::rule_tags_from"
    )]
    pub rules: Vec<usize>,
    pub rows: String,
    pub why: String,
}

/// The flow's rules of one address family.
fn rules_of_family(plan: &Plan, f: &Flow, dst: IpAddr) -> Vec<usize> {
    let family = crate::plan::Family::of(&ipnet::IpNet::from(dst));
    f.rules
        .iter()
        .copied()
        .filter(|id| {
            plan.rules
                .iter()
                .find(|r| r.id == *id)
                .is_some_and(|r| r.family == family)
        })
        .collect()
}

fn is_host(net: &ipnet::IpNet) -> bool {
    net.prefix_len() == net.max_prefix_len()
}

/// The source addresses a flow offers the origin, or `None` when the origin is not its source.
fn origin_sources(origin: &Origin, g: &Group) -> Option<Vec<Option<IpAddr>>> {
    match origin {
        Origin::Server(name, addrs) => {
            let own: Vec<Option<IpAddr>> = g
                .members
                .iter()
                .filter(|m| &m.host == name && is_host(&m.net))
                .map(|m| Some(m.net.addr()))
                .collect();
            if !own.is_empty() {
                return Some(own);
            }
            // `any` (or a client network) on this server's side
            let inside: Vec<Option<IpAddr>> = addrs
                .iter()
                .filter(|(zone, a)| {
                    *zone == g.zone
                        && g.members
                            .iter()
                            .any(|m| !is_host(&m.net) && m.net.contains(a))
                })
                .map(|(_, a)| Some(*a))
                .collect();
            (!inside.is_empty()).then_some(inside)
        }
        Origin::Zone(zone) => {
            (g.zone == *zone && g.members.iter().any(|m| !is_host(&m.net))).then(|| vec![None])
        }
        Origin::Clients(name) => g
            .members
            .iter()
            .any(|m| &m.host == name)
            .then(|| vec![None]),
    }
}

/// The address the origin contacts for `dst` on flow `f`: the public one when the flow enters a
/// firewall through the public interface of a static NAT of `dst`.
fn dialled(t: &Topology, f: &Flow, dst: IpAddr) -> (IpAddr, Option<IpAddr>) {
    let nat = f.path.iter().find_map(|hop| {
        t.firewall(&hop.firewall)?
            .nat
            .iter()
            .find(|n| n.private == dst && n.interface == hop.ingress_interface)
    });
    match nat {
        Some(n) => (n.public, Some(dst)),
        None => (dst, None),
    }
}

/// Which network `--dial` names: one of the plan's destination networks, or a destination role
/// (the network of that role that holds the address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialNetwork {
    Net(ipnet::IpNet),
    Role(String),
}

impl std::fmt::Display for DialNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DialNetwork::Net(n) => write!(f, "{n}"),
            DialNetwork::Role(r) => write!(f, "`{r}`"),
        }
    }
}

/// `NETWORK=ADDRESS`: the host to contact for flows whose destination is that network. Parsing
/// checks what it can alone (an address inside the network, not its network or broadcast
/// address); [`probe_targets_dialling`] checks it against the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dial {
    pub network: DialNetwork,
    pub address: IpAddr,
}

/// Why a `--dial` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialError {
    #[error(
        "`{0}` is not NETWORK=ADDRESS (e.g. 52.112.0.0/14=52.112.0.10, or microsoft-365=52.112.0.10)"
    )]
    Syntax(String),
    #[error("`{0}` in --dial is not an IP address")]
    Address(String),
    #[error("`{0}` in --dial is neither a network (address/prefix) nor a destination role name")]
    Network(String),
    #[error("{given} has host bits set; the network is {network}")]
    HostBits {
        given: String,
        network: ipnet::IpNet,
    },
    #[error("{network} is a single host, which probe dials without --dial")]
    SingleHost { network: ipnet::IpNet },
    #[error(
        "{address} is not inside {network}: the address to dial must belong to that destination network"
    )]
    Outside { network: String, address: IpAddr },
    #[error("{address} is the network or broadcast address of {network}: name a host inside it")]
    NotAHost {
        network: ipnet::IpNet,
        address: IpAddr,
    },
    #[error("--dial names {network} twice: one host per network")]
    Twice { network: String },
    #[error(
        "no planned flow from `{from}` goes to the network {network}; its network destinations: {known}"
    )]
    Unused {
        network: String,
        from: String,
        known: String,
    },
}

/// A role name as the plan writes them (`microsoft-365`, `edge.av.public`, joined with `+`).
fn is_role_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.+".contains(&b))
}

/// The network and broadcast address of an IPv4 network of /30 or wider carry no host.
fn not_a_host(net: &ipnet::IpNet, address: IpAddr) -> bool {
    match net {
        ipnet::IpNet::V4(n) if n.prefix_len() <= 30 => {
            address == IpAddr::V4(n.network()) || address == IpAddr::V4(n.broadcast())
        }
        ipnet::IpNet::V6(n) if n.prefix_len() <= 126 => address == IpAddr::V6(n.network()),
        _ => false,
    }
}

fn check_inside(net: &ipnet::IpNet, address: IpAddr) -> Result<(), DialError> {
    if !net.contains(&address) {
        return Err(DialError::Outside {
            network: net.to_string(),
            address,
        });
    }
    if not_a_host(net, address) {
        return Err(DialError::NotAHost {
            network: *net,
            address,
        });
    }
    Ok(())
}

impl std::str::FromStr for Dial {
    type Err = DialError;

    fn from_str(s: &str) -> Result<Dial, DialError> {
        let (network, address) = s
            .split_once('=')
            .ok_or_else(|| DialError::Syntax(s.chars().take(80).collect()))?;
        let (network, address) = (network.trim(), address.trim());
        let address: IpAddr = address
            .parse()
            .map_err(|_| DialError::Address(address.chars().take(80).collect()))?;
        let network = if network.contains('/') {
            let net: ipnet::IpNet = network
                .parse()
                .map_err(|_| DialError::Network(network.chars().take(80).collect()))?;
            if net.trunc() != net {
                return Err(DialError::HostBits {
                    given: network.into(),
                    network: net.trunc(),
                });
            }
            if is_host(&net) {
                return Err(DialError::SingleHost { network: net });
            }
            check_inside(&net, address)?;
            DialNetwork::Net(net)
        } else if is_role_name(network) {
            DialNetwork::Role(network.into())
        } else {
            return Err(DialError::Network(network.chars().take(80).collect()));
        };
        Ok(Dial { network, address })
    }
}

/// The address `dials` name for the network member `m` of flow `f`'s destination.
fn dial_for(dials: &[Dial], f: &Flow, m: &crate::plan::Member) -> Option<IpAddr> {
    dials
        .iter()
        .find(|d| match &d.network {
            DialNetwork::Net(n) => *n == m.net,
            DialNetwork::Role(r) => f.destination.role == *r.as_str() && m.net.contains(&d.address),
        })
        .map(|d| d.address)
}

/// Every `--dial` must name a network destination of a planned flow from the origin, once, and
/// a role's address must be inside one of that role's networks.
fn check_dials(plan: &Plan, origin: &Origin, dials: &[Dial]) -> Result<(), DialError> {
    let known: Vec<(&str, ipnet::IpNet)> = plan
        .flows
        .iter()
        .filter(|f| origin_sources(origin, &f.source).is_some())
        .flat_map(|f| {
            f.destination
                .members
                .iter()
                .filter(|m| !is_host(&m.net))
                .map(|m| (f.destination.role.as_str(), m.net))
        })
        .collect();
    let known_text = || {
        let mut list: Vec<String> = known.iter().map(|(r, n)| format!("{n} ({r})")).collect();
        list.sort();
        list.dedup();
        if list.is_empty() {
            "none".to_string()
        } else {
            list.join(", ")
        }
    };
    let from = match origin {
        Origin::Server(n, _) | Origin::Zone(n) | Origin::Clients(n) => n.clone(),
    };
    for (i, d) in dials.iter().enumerate() {
        let same = |e: &Dial| match (&e.network, &d.network) {
            (DialNetwork::Net(a), DialNetwork::Net(b)) => a == b,
            (DialNetwork::Role(a), DialNetwork::Role(b)) => a == b,
            _ => false,
        };
        if dials[..i].iter().any(same) {
            return Err(DialError::Twice {
                network: d.network.to_string(),
            });
        }
        let unused = || DialError::Unused {
            network: d.network.to_string(),
            from: from.clone(),
            known: known_text(),
        };
        match &d.network {
            DialNetwork::Net(n) => {
                if !known.iter().any(|(_, k)| k == n) {
                    return Err(unused());
                }
            }
            DialNetwork::Role(r) => {
                let nets: Vec<ipnet::IpNet> = known
                    .iter()
                    .filter(|(role, _)| role == r)
                    .map(|(_, n)| *n)
                    .collect();
                if nets.is_empty() {
                    return Err(unused());
                }
                let Some(net) = nets.iter().find(|n| n.contains(&d.address)) else {
                    let mut list: Vec<String> = nets.iter().map(|n| n.to_string()).collect();
                    list.sort();
                    list.dedup();
                    return Err(DialError::Outside {
                        network: format!("any network of `{r}` ({})", list.join(", ")),
                        address: d.address,
                    });
                };
                check_inside(net, d.address)?;
            }
        }
    }
    Ok(())
}

/// Every connection attempt for the origin, and the flows with nothing concrete to test.
pub fn probe_targets(plan: &Plan, t: &Topology, origin: &Origin) -> (Vec<Target>, Vec<Untestable>) {
    build_targets(plan, t, origin, &[])
}

/// [`probe_targets`], contacting `dials`' addresses for the network destinations they name; an
/// error when a dial fits no network destination of the origin's flows.
pub fn probe_targets_dialling(
    plan: &Plan,
    t: &Topology,
    origin: &Origin,
    dials: &[Dial],
) -> Result<(Vec<Target>, Vec<Untestable>), DialError> {
    check_dials(plan, origin, dials)?;
    Ok(build_targets(plan, t, origin, dials))
}

fn build_targets(
    plan: &Plan,
    t: &Topology,
    origin: &Origin,
    dials: &[Dial],
) -> (Vec<Target>, Vec<Untestable>) {
    let mut targets: Vec<Target> = Vec::new();
    let mut untestable = Vec::new();
    for (i, f) in plan.flows.iter().enumerate() {
        let Some(sources) = origin_sources(origin, &f.source) else {
            continue;
        };
        // (address to contact, its host label, whether the user chose it)
        let hosts: Vec<(IpAddr, String, bool)> = f
            .destination
            .members
            .iter()
            .filter_map(|m| {
                if is_host(&m.net) {
                    Some((m.net.addr(), m.host.clone(), false))
                } else {
                    dial_for(dials, f, m).map(|a| {
                        (
                            a,
                            format!("{} in {} (--dial)", f.destination.role, m.net),
                            true,
                        )
                    })
                }
            })
            .collect();
        if hosts.is_empty() {
            untestable.push(Untestable {
                flow: i + 1,
                rules: f.rules.clone(),
                rows: f.rows_text(),
                why: format!(
                    "destination `{}` is a network, not a host: nothing concrete to contact (--dial NETWORK=ADDRESS names one)",
                    f.destination.role
                ),
            });
            continue;
        }
        let ports = if f.ports.is_single() {
            vec![f.ports.start]
        } else {
            sample(f.ports)
        };
        for (addr, host, chosen) in hosts {
            let (dst, nat_of) = if chosen {
                (addr, None)
            } else {
                dialled(t, f, addr)
            };
            // a server probes from its address of the destination's family
            let Some(source) = sources
                .iter()
                .find(|s| s.is_none_or(|ip| ip.is_ipv4() == dst.is_ipv4()))
            else {
                continue;
            };
            for port in &ports {
                let t = Target {
                    flow: i + 1,
                    rules: rules_of_family(plan, f, dst),
                    rows: f.rows_text(),
                    service: f.service.clone(),
                    reason: f.reason.clone(),
                    transport: f.transport,
                    port: *port,
                    range: (!f.ports.is_single()).then_some(f.ports),
                    source: *source,
                    destination: dst,
                    destination_host: host.clone(),
                    nat_of,
                    kind: kind_of(f),
                };
                // one attempt per socket pair; it exercises the rules of every flow that wants it
                match targets.iter_mut().find(|x| {
                    x.transport == t.transport
                        && x.port == t.port
                        && x.destination == t.destination
                        && x.source == t.source
                }) {
                    Some(x) => {
                        for id in t.rules {
                            if !x.rules.contains(&id) {
                                x.rules.push(id);
                            }
                        }
                    }
                    None => targets.push(t),
                }
            }
        }
    }
    (targets, untestable)
}

/// One socket the listener opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListenSpec {
    pub address: IpAddr,
    pub transport: Transport,
    pub port: u16,
    pub kind: Kind,
    pub service: String,
    /// The flow's whole range when only a sample is listened on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sampled_from: Option<PortRange>,
}

/// The sockets `host` must answer on: its own addresses that flows reach, and its pool's VIPs (a
/// load balancer may deliver those unchanged). With `full_ranges`, every port of a range.
pub fn listen_specs(plan: &Plan, t: &Topology, host: &str, full_ranges: bool) -> Vec<ListenSpec> {
    let pool = t.servers().find(|(_, s)| s.name == host).map(|(p, _)| p);
    let vip_prefix = pool.map(|p| format!("{}/", p.name));
    let mut out: Vec<ListenSpec> = Vec::new();
    for f in &plan.flows {
        for m in &f.destination.members {
            let mine =
                m.host == host || vip_prefix.as_deref().is_some_and(|p| m.host.starts_with(p));
            if !mine || !is_host(&m.net) {
                continue;
            }
            let ports: Vec<u16> = if f.ports.is_single() {
                vec![f.ports.start]
            } else if full_ranges {
                (f.ports.start..=f.ports.end).collect()
            } else {
                sample(f.ports)
            };
            for port in ports {
                let spec = ListenSpec {
                    address: m.net.addr(),
                    transport: f.transport,
                    port,
                    kind: kind_of(f),
                    service: f.service.clone(),
                    sampled_from: (!f.ports.is_single() && !full_ranges).then_some(f.ports),
                };
                if !out.iter().any(|x| {
                    x.address == spec.address
                        && x.transport == spec.transport
                        && x.port == spec.port
                }) {
                    out.push(spec);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan;

    /// The rule the probe kind came from before the catalog declared it: a substring of the
    /// free-text service label.
    fn kind_by_label_substring(service: &str) -> Kind {
        let s = service.to_ascii_uppercase();
        if s.contains("STUN") {
            Kind::Stun
        } else if s.contains("HTTPS") {
            Kind::Https
        } else if s.contains("HTTP") {
            Kind::Http
        } else if s.contains("TLS") {
            Kind::Tls
        } else {
            Kind::Plain
        }
    }

    #[test]
    fn every_catalog_row_keeps_the_probe_kind_its_label_substring_gave() {
        let catalog = crate::catalog::Catalog::builtin();
        for (i, row) in catalog.rows.iter().enumerate() {
            assert_eq!(
                catalog.probe_kind(&row.service),
                Some(kind_by_label_substring(&row.service)),
                "row {} ({} {} {})",
                i + 1,
                row.service,
                row.transport,
                row.ports
            );
        }
        // and a flow takes its label's kind
        let t = Topology::reference();
        let p = plan::compile(&t);
        for f in &p.flows {
            assert_eq!(
                kind_of(f),
                kind_by_label_substring(&f.service),
                "{}",
                f.service
            );
        }
        assert!(p.flows.iter().any(|f| kind_of(f) == Kind::Stun));
        assert!(p.flows.iter().any(|f| kind_of(f) == Kind::Https));
        assert!(p.flows.iter().any(|f| kind_of(f) == Kind::Tls));
    }

    #[test]
    fn ranges_are_sampled_at_both_ends_and_the_middle() {
        assert_eq!(
            sample(PortRange::new(50000, 59999).unwrap()),
            vec![50000, 54999, 59999]
        );
        assert_eq!(sample(PortRange::single(443)), vec![443]);
    }

    #[test]
    fn edge_probes_its_director_and_skips_the_internet() {
        let t = Topology::reference();
        let p = plan::compile(&t);
        let (targets, untestable) = probe_targets(&p, &t, &origin(&t, "edge01").unwrap());
        // SIP to the Director VIP, from the Edge's internal address
        assert!(targets.iter().any(|x| x.port == 5061
            && x.destination.to_string() == "10.10.1.10"
            && x.source.map(|s| s.to_string()) == Some("172.25.33.11".into())));
        // DNS to "any" has no concrete destination
        assert!(
            untestable
                .iter()
                .any(|u| u.rows.contains("external-interface#2"))
        );
        // the Front End reaches the Edge through `any` on its side, from its own address
        let (fe, _) = probe_targets(&p, &t, &origin(&t, "fe01").unwrap());
        assert!(fe.iter().any(|x| x.port == 4443
            && x.destination.to_string() == "172.25.33.21"
            && x.source.map(|s| s.to_string()) == Some("10.10.2.11".into())));
        // only addresses the topology names
        let named: Vec<IpAddr> = t
            .servers()
            .flat_map(|(_, s)| {
                s.interfaces
                    .iter()
                    .flat_map(|i| i.addresses.iter().map(|a| a.ip))
            })
            .chain(
                t.pools
                    .iter()
                    .flat_map(|p| p.vips.iter().flat_map(|v| v.addresses.clone())),
            )
            .collect();
        assert!(targets.iter().all(|x| named.contains(&x.destination)));
    }

    #[test]
    fn internet_zone_probes_the_public_edge_addresses() {
        let t = Topology::reference();
        let p = plan::compile(&t);
        let (targets, _) = probe_targets(&p, &t, &origin(&t, "internet").unwrap());
        assert!(
            targets
                .iter()
                .any(|x| x.port == 443 && x.destination.to_string() == "203.0.113.100")
        );
        assert!(
            targets
                .iter()
                .any(|x| x.transport == Transport::Udp && x.port == 3478 && x.kind == Kind::Stun)
        );
        assert!(targets.iter().all(|x| x.source.is_none()));
    }

    #[test]
    fn probes_from_outside_dial_the_public_side_of_a_static_nat() {
        let text = include_str!("../../examples/edge-single-nat.toml");
        let t = Topology::parse("edge-single-nat.toml", text).unwrap();
        let p = crate::plan::compile(&t);
        let (outside, _) = probe_targets(&p, &t, &origin(&t, "internet").unwrap());
        let av: Vec<&Target> = outside
            .iter()
            .filter(|x| x.port == 3478 && x.transport == Transport::Udp)
            .collect();
        assert!(!av.is_empty());
        for x in av {
            assert_eq!(x.destination.to_string(), "203.0.113.12");
            assert_eq!(
                x.nat_of.map(|a| a.to_string()).as_deref(),
                Some("172.16.10.12")
            );
        }
        // inside the perimeter nothing is translated: the Front End reaches the Edge's own address
        let (inside, _) = probe_targets(&p, &t, &origin(&t, "se01").unwrap());
        assert!(inside.iter().all(|x| x.nat_of.is_none()));
        assert!(
            inside
                .iter()
                .any(|x| x.destination.to_string() == "172.16.20.10")
        );
    }

    fn hybrid() -> (Topology, Plan) {
        let text = include_str!("../../examples/sfb2019-hybrid.toml");
        let t = Topology::parse("sfb2019-hybrid.toml", text).unwrap();
        let p = crate::plan::compile(&t);
        (t, p)
    }

    #[test]
    fn dial_names_the_host_inside_a_network_destination() {
        let (t, p) = hybrid();
        let edge = origin(&t, "edge01").unwrap();
        let (plain, untestable) = probe_targets(&p, &t, &edge);
        assert!(!plain.iter().any(|x| x.rows.contains("hybrid/")));
        assert!(untestable.iter().any(|u| u.rows.contains("hybrid/")));
        for form in ["52.112.0.0/14=52.112.1.10", "microsoft-365=52.112.1.10"] {
            let dial: Dial = form.parse().unwrap();
            let (dialled, untestable) =
                probe_targets_dialling(&p, &t, &edge, std::slice::from_ref(&dial)).unwrap();
            let hybrid: Vec<&Target> = dialled
                .iter()
                .filter(|x| x.rows.contains("hybrid/"))
                .collect();
            // STUN and media from the A/V Edge, all to the chosen host; SIP leaves from the Access
            // Edge VIP behind the hardware load balancer, not from edge01's own access address
            assert!(!hybrid.iter().any(|x| x.port == 5061
                && x.source.map(|s| s.to_string()).as_deref() == Some("203.0.113.11")));
            assert!(
                hybrid.iter().any(|x| x.port == 3478
                    && x.transport == Transport::Udp
                    && x.kind == Kind::Stun)
            );
            assert!(
                hybrid
                    .iter()
                    .all(|x| x.destination.to_string() == "52.112.1.10" && x.nat_of.is_none()),
                "{form}"
            );
            assert!(!untestable.iter().any(|u| u.rows.contains("hybrid/")));
            // the rest of the plan is probed as before
            assert_eq!(dialled.len() - hybrid.len(), plain.len());
        }
    }

    #[test]
    fn dial_refuses_an_address_outside_its_network_and_networks_the_plan_does_not_reach() {
        let parse = |s: &str| s.parse::<Dial>();
        assert!(matches!(
            parse("52.112.0.0/14=198.51.100.7"),
            Err(DialError::Outside { .. })
        ));
        assert!(matches!(
            parse("52.112.0.0/14=52.112.0.0"),
            Err(DialError::NotAHost { .. })
        ));
        assert!(matches!(
            parse("52.112.0.0/14=52.115.255.255"),
            Err(DialError::NotAHost { .. })
        ));
        assert!(matches!(
            parse("52.112.1.0/14=52.112.1.1"),
            Err(DialError::HostBits { .. })
        ));
        assert!(matches!(
            parse("52.112.1.1/32=52.112.1.1"),
            Err(DialError::SingleHost { .. })
        ));
        assert!(matches!(parse("52.112.1.1"), Err(DialError::Syntax(_))));
        assert!(matches!(
            parse("52.112.0.0/14=x"),
            Err(DialError::Address(_))
        ));
        assert!(matches!(
            parse("Rm -rf=1.2.3.4"),
            Err(DialError::Network(_))
        ));
        assert!(parse("2603:1063::/38=2603:1063::10").is_ok());

        let (t, p) = hybrid();
        let edge = origin(&t, "edge01").unwrap();
        let run = |dials: &[&str]| {
            let dials: Vec<Dial> = dials.iter().map(|d| d.parse().unwrap()).collect();
            probe_targets_dialling(&p, &t, &edge, &dials).map(|_| ())
        };
        // a network no flow of edge01 goes to, or a role it does not reach
        let err = run(&["10.0.0.0/8=10.1.1.1"]).unwrap_err();
        assert!(matches!(err, DialError::Unused { .. }), "{err}");
        assert!(
            err.to_string().contains("52.112.0.0/14 (microsoft-365)"),
            "{err}"
        );
        assert!(matches!(
            run(&["front-end=10.10.2.11"]),
            Err(DialError::Unused { .. })
        ));
        // a role's address must lie in one of its networks
        let err = run(&["microsoft-365=8.8.8.8"]).unwrap_err();
        assert!(matches!(err, DialError::Outside { .. }), "{err}");
        // one host per network
        assert!(matches!(
            run(&["52.112.0.0/14=52.112.1.10", "52.112.0.0/14=52.112.1.11"]),
            Err(DialError::Twice { .. })
        ));
        // a Front End has no flow to Microsoft 365
        let fe = origin(&t, "fe01").unwrap();
        let dial: Dial = "52.112.0.0/14=52.112.1.10".parse().unwrap();
        assert!(matches!(
            probe_targets_dialling(&p, &t, &fe, &[dial]),
            Err(DialError::Unused { .. })
        ));
    }

    #[test]
    fn listener_covers_own_addresses_and_pool_vips() {
        let t = Topology::reference();
        let p = plan::compile(&t);
        let specs = listen_specs(&p, &t, "dir01", false);
        assert!(
            specs
                .iter()
                .any(|s| s.address.to_string() == "10.10.1.10" && s.port == 4443)
        );
        assert!(
            specs
                .iter()
                .any(|s| s.address.to_string() == "10.10.1.11" && s.port == 50001)
        );
        let edge = listen_specs(&p, &t, "edge02", false);
        assert!(
            edge.iter()
                .any(|s| s.address.to_string() == "203.0.113.23" && s.port == 3478)
        );
        assert!(origin(&t, "nobody").is_err());
    }
}
