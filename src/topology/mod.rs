//! A deployment described as a TOML file: zones, the firewalls between them, pools of servers with
//! their interfaces and load balancer VIPs, client networks, partners and the optional features.
//!
//! This module owns the file format ([`file`]), the checks that turn it into a trustworthy model
//! ([`validate`]), what each server role supports ([`roles`]), the load balancer lint ([`lint`])
//! and the mapping of a catalog role onto the addresses of this deployment
//! ([`Topology::endpoints`], with the partners that stand for a row's `any` end).

mod code;
pub mod file;
mod finding;
pub mod hybrid;
pub mod lint;
pub mod lint_sfb;
pub mod names;
pub mod roles;
mod validate;
mod version;
mod zone_space;

pub use code::Code;
pub use finding::{Finding, Severity, SourceFile, named_report};

pub use crate::catalog::Leg;
use crate::catalog::{Catalog, Feature, Role, ServerRole, Version};
use ipnet::IpNet;
use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;
use std::ops::Range;
use std::str::FromStr;

/// Byte range in the topology file.
pub type Span = Range<usize>;

const REFERENCE_TOML: &str = include_str!("../../examples/reference.toml");

/// A topology that could not be read: every problem found, each with its place in the file.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {} problem(s) in the topology", problems.len())]
pub struct TopologyError {
    pub file: String,
    pub problems: Vec<Finding>,
}

crate::catalog::string_enum! {
    /// Where a zone sits in the deployment.
    ZoneKind ("zone kind") {
        Internet = "internet": "the outside: the internet, partners, remote users",
        Perimeter = "perimeter": "a network between the firewalls (the Edge and reverse proxy)",
        Internal = "internal": "the inside: servers and clients",
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Zone {
    pub name: String,
    pub kind: ZoneKind,
    pub networks: Vec<IpNet>,
    #[serde(skip)]
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
pub struct Firewall {
    pub name: String,
    pub interfaces: Vec<FirewallInterface>,
    /// Static one-to-one NAT entries (destination NAT in, source NAT out).
    pub nat: Vec<StaticNat>,
    #[serde(skip)]
    pub span: Span,
}

/// One static NAT entry: `private` is seen as `public` through the firewall's `interface`.
#[derive(Debug, Clone, Serialize)]
pub struct StaticNat {
    pub public: IpAddr,
    pub private: IpAddr,
    /// The firewall interface on the public side.
    pub interface: String,
    #[serde(skip)]
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
pub struct FirewallInterface {
    pub name: String,
    pub zone: String,
    /// The firewall's own addresses on this leg, with prefix length.
    pub addresses: Vec<IpNet>,
}

crate::catalog::string_enum! {
    /// How a pool spreads its load.
    LoadBalancing ("load balancing") {
        Hlb = "hlb": "hardware load balancer VIPs for every service",
        DnsHlb = "dns-hlb": "DNS load balancing for SIP, hardware load balancer for web services",
        Dns = "dns": "DNS load balancing only",
        None = "none": "a single server, nothing to balance",
    }
}

crate::catalog::string_enum! {
    /// What a load balancer VIP stands for.
    VipService ("VIP service") {
        Pool = "pool": "the VIP of a Director, Front End, Mediation or Office Web Apps pool",
        Access = "access": "the Access Edge VIP of the external load balancer",
        Webconf = "webconf": "the Web Conferencing Edge VIP of the external load balancer",
        Av = "av": "the A/V Edge VIP of the external load balancer",
        Internal = "internal": "the Edge pool's internal load balancer VIP",
    }
}

impl VipService {
    /// Which address of a real server stands behind a VIP of this service.
    pub fn address_use(self) -> AddressUse {
        match self {
            VipService::Access => AddressUse::Access,
            VipService::Webconf => AddressUse::Webconf,
            VipService::Av => AddressUse::Av,
            VipService::Internal | VipService::Pool => AddressUse::Host,
        }
    }

    /// The leg of an Edge server a VIP of this service balances: the internal VIP the internal
    /// interface, every other VIP the external one.
    pub fn leg(self) -> Leg {
        if self == VipService::Internal {
            Leg::Internal
        } else {
            Leg::External
        }
    }

    /// The VIP's name in a sentence ("the Access Edge VIP").
    pub fn title(self) -> &'static str {
        match self {
            VipService::Pool => "pool",
            VipService::Access => "Access Edge",
            VipService::Webconf => "Web Conferencing Edge",
            VipService::Av => "A/V Edge",
            VipService::Internal => "internal Edge",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Vip {
    pub service: VipService,
    pub zone: String,
    pub addresses: Vec<IpAddr>,
    /// The load balancer rewrites the client's source address to its own.
    pub snat: bool,
    #[serde(skip)]
    pub span: Span,
    #[serde(skip)]
    pub snat_span: Option<Span>,
}

/// What an address on an interface is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AddressUse {
    /// The host's ordinary address.
    Host,
    Access,
    Webconf,
    Av,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct InterfaceAddress {
    pub ip: IpAddr,
    #[serde(rename = "use")]
    pub usage: AddressUse,
}

#[derive(Debug, Clone, Serialize)]
pub struct Interface {
    pub name: String,
    pub zone: String,
    pub addresses: Vec<InterfaceAddress>,
    pub gateway: Vec<IpAddr>,
    pub routes: Vec<IpNet>,
    #[serde(skip)]
    pub span: Span,
}

impl Interface {
    pub fn ips(&self, usage: AddressUse) -> impl Iterator<Item = IpAddr> + '_ {
        self.addresses
            .iter()
            .filter(move |a| a.usage == usage)
            .map(|a| a.ip)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Server {
    pub name: String,
    pub interfaces: Vec<Interface>,
    #[serde(skip)]
    pub span: Span,
}

impl Server {
    /// The interface of a multi-homed server that is the given leg.
    pub fn interface(&self, leg: Leg) -> Option<&Interface> {
        self.interfaces.iter().find(|i| i.name == leg.as_str())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Pool {
    pub name: String,
    pub role: ServerRole,
    pub load_balancing: LoadBalancing,
    pub cms: bool,
    /// External web service names published by the reverse proxy (e.g. `webext.contoso.com`).
    pub published: Vec<String>,
    pub vips: Vec<Vip>,
    pub servers: Vec<Server>,
    #[serde(skip)]
    pub span: Span,
}

impl Pool {
    pub fn vip(&self, service: VipService) -> Option<&Vip> {
        self.vips.iter().find(|v| v.service == service)
    }

    /// The real servers behind a VIP of this pool, with the address of each that serves the VIP's
    /// service (the Access Edge address behind the access VIP, and so on), of the given family.
    pub fn backends(&self, vip: &Vip, ipv4: bool) -> Vec<(String, IpAddr)> {
        let usage = vip.service.address_use();
        self.servers
            .iter()
            .filter_map(|s| {
                s.interfaces
                    .iter()
                    .filter(|i| i.zone == vip.zone)
                    .flat_map(|i| i.ips(usage))
                    .find(|ip| ip.is_ipv4() == ipv4)
                    .map(|ip| (s.name.clone(), ip))
            })
            .collect()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ClientNetwork {
    pub name: String,
    pub zone: String,
    pub networks: Vec<IpNet>,
}

crate::catalog::string_enum! {
    /// What a listed partner federates over; its networks stand in for the far end of those rows.
    PartnerKind ("partner kind") {
        Sip = "sip": "SIP federation with a partner organisation's Access Edge",
        Xmpp = "xmpp": "XMPP federation through the Edge's XMPP proxy",
        PublicIm = "public-im": "a public IM provider",
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Partner {
    pub name: String,
    pub kind: PartnerKind,
    pub networks: Vec<IpNet>,
}

/// A validated deployment.
#[derive(Debug, Clone, Serialize)]
pub struct Topology {
    pub name: String,
    pub description: Option<String>,
    /// The product the deployment runs; it picks the catalog's tables.
    pub version: Version,
    pub features: BTreeSet<Feature>,
    /// Hybrid with Microsoft 365, when `[hybrid]` or the `hybrid` feature is on.
    pub hybrid: Option<hybrid::Hybrid>,
    pub narrow_any: bool,
    /// Scenarios named under `[options] scenarios`, planned besides the ones the pools select.
    pub extra_scenarios: Vec<String>,
    pub zones: Vec<Zone>,
    pub firewalls: Vec<Firewall>,
    pub pools: Vec<Pool>,
    pub clients: Vec<ClientNetwork>,
    pub partners: Vec<Partner>,
    #[serde(skip)]
    pub source: SourceFile,
    #[serde(skip)]
    pub feature_spans: Vec<(Feature, Span)>,
    #[serde(skip)]
    pub narrow_any_span: Option<Span>,
}

/// One address a role stands for in this deployment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Endpoint {
    /// Server, VIP or network name (`edge01`, `edgepool/access-vip`, `corp-clients`).
    pub host: String,
    pub zone: String,
    pub net: IpNet,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.host, self.net)
    }
}

impl Topology {
    /// Reads and validates a topology file's text. `name` is used in messages (usually the path).
    pub fn parse(name: &str, text: &str) -> Result<Topology, TopologyError> {
        validate::parse(SourceFile::new(name, text))
    }

    /// The reference deployment of the seed documents, built into the binary.
    pub fn reference() -> Topology {
        Topology::parse("examples/reference.toml", REFERENCE_TOML)
            .expect("the built-in reference topology is validated by the test suite")
    }

    pub fn reference_source() -> &'static str {
        REFERENCE_TOML
    }

    pub fn zone(&self, name: &str) -> Option<&Zone> {
        self.zones.iter().find(|z| z.name == name)
    }

    pub fn firewall(&self, name: &str) -> Option<&Firewall> {
        self.firewalls.iter().find(|f| f.name == name)
    }

    pub fn has_feature(&self, feature: Feature) -> bool {
        self.features.contains(&feature)
    }

    pub fn pools_of(&self, role: ServerRole) -> impl Iterator<Item = &Pool> {
        self.pools.iter().filter(move |p| p.role == role)
    }

    /// Every server with the pool it belongs to.
    pub fn servers(&self) -> impl Iterator<Item = (&Pool, &Server)> {
        self.pools
            .iter()
            .flat_map(|p| p.servers.iter().map(move |s| (p, s)))
    }

    /// The catalog scenarios this deployment uses, in catalog order (see [`roles::scenarios`]).
    pub fn scenarios(&self) -> Vec<&'static str> {
        roles::scenarios(self, Catalog::builtin())
    }

    /// The addresses a catalog role stands for. `Role::Any` is relative to the other end of a flow and
    /// is resolved by the planner, so it yields nothing here; so does a role this deployment lacks.
    pub fn endpoints(&self, role: Role) -> Vec<Endpoint> {
        let mut out = Vec::new();
        match role {
            Role::Any => {}
            Role::InternalClients => {
                for c in &self.clients {
                    for net in &c.networks {
                        out.push(Endpoint {
                            host: c.name.clone(),
                            zone: c.zone.clone(),
                            net: *net,
                        });
                    }
                }
            }
            Role::FederatedPartner => out = self.partner_endpoints(PartnerKind::Sip),
            Role::PublicImPartner => out = self.partner_endpoints(PartnerKind::PublicIm),
            Role::Microsoft365 => {
                let sets = self.hybrid.iter().flat_map(|h| h.snapshot.address_sets());
                for net in sets.flat_map(|s| s.ips.iter()) {
                    // a family no zone holds (IPv6 in an IPv4-only deployment) is not reached
                    let Some(zone) = self.zone_of_net(net) else {
                        continue;
                    };
                    let ep = Endpoint {
                        host: "microsoft-365".into(),
                        zone,
                        net: *net,
                    };
                    if !out.contains(&ep) {
                        out.push(ep);
                    }
                }
            }
            Role::ReverseProxyExternal => self.push_interface(
                &mut out,
                ServerRole::ReverseProxy,
                Leg::External,
                AddressUse::Host,
            ),
            Role::ReverseProxyInternal => self.push_interface(
                &mut out,
                ServerRole::ReverseProxy,
                Leg::Internal,
                AddressUse::Host,
            ),
            Role::Director => self.push_servers(&mut out, ServerRole::Director),
            Role::DirectorVip => self.push_vips(&mut out, ServerRole::Director, VipService::Pool),
            Role::DirectorPool => {
                self.push_servers(&mut out, ServerRole::Director);
                self.push_vips(&mut out, ServerRole::Director, VipService::Pool);
            }
            Role::FrontEndPool => {
                self.push_servers(&mut out, ServerRole::FrontEnd);
                self.push_vips(&mut out, ServerRole::FrontEnd, VipService::Pool);
            }
            Role::FrontEndCms => {
                for pool in self.pools_of(ServerRole::FrontEnd).filter(|p| p.cms) {
                    push_pool_servers(&mut out, pool);
                    push_pool_vips(&mut out, pool, VipService::Pool);
                }
            }
            Role::WebPools => {
                for r in [ServerRole::FrontEnd, ServerRole::Director] {
                    self.push_servers(&mut out, r);
                    self.push_vips(&mut out, r, VipService::Pool);
                }
            }
            Role::OfficeWebApps => {
                self.push_servers(&mut out, ServerRole::OfficeWebApps);
                self.push_vips(&mut out, ServerRole::OfficeWebApps, VipService::Pool);
            }
            Role::SurvivableBranch => self.push_servers(&mut out, ServerRole::SurvivableBranch),
            Role::EdgeAccessPublic => self.push_interface(
                &mut out,
                ServerRole::Edge,
                Leg::External,
                AddressUse::Access,
            ),
            Role::EdgeWebconfPublic => self.push_interface(
                &mut out,
                ServerRole::Edge,
                Leg::External,
                AddressUse::Webconf,
            ),
            Role::EdgeAvPublic => {
                self.push_interface(&mut out, ServerRole::Edge, Leg::External, AddressUse::Av)
            }
            Role::EdgeAccessVip => self.push_vips(&mut out, ServerRole::Edge, VipService::Access),
            Role::EdgeWebconfVip => self.push_vips(&mut out, ServerRole::Edge, VipService::Webconf),
            Role::EdgeAvVip => self.push_vips(&mut out, ServerRole::Edge, VipService::Av),
            Role::EdgeInternal => {
                self.push_interface(&mut out, ServerRole::Edge, Leg::Internal, AddressUse::Host)
            }
            Role::EdgeInternalVip => {
                self.push_vips(&mut out, ServerRole::Edge, VipService::Internal)
            }
            Role::EdgeInternalPool => {
                self.push_interface(&mut out, ServerRole::Edge, Leg::Internal, AddressUse::Host);
                self.push_vips(&mut out, ServerRole::Edge, VipService::Internal);
            }
            Role::FrontEnd => self.push_servers(&mut out, ServerRole::FrontEnd),
            Role::FrontEndVip => self.push_vips(&mut out, ServerRole::FrontEnd, VipService::Pool),
            Role::WebPoolsAndOwa => {
                out = self.endpoints(Role::WebPools);
                out.extend(self.endpoints(Role::OfficeWebApps));
            }
            Role::Mediation => self.push_servers(&mut out, ServerRole::Mediation),
            Role::MediationVip => self.push_vips(&mut out, ServerRole::Mediation, VipService::Pool),
            Role::PersistentChat => self.push_servers(&mut out, ServerRole::PersistentChat),
            Role::PstnGateway => self.push_servers(&mut out, ServerRole::PstnGateway),
            Role::InternalServers => {
                for r in [
                    ServerRole::FrontEnd,
                    ServerRole::Director,
                    ServerRole::Mediation,
                    ServerRole::PersistentChat,
                ] {
                    self.push_servers(&mut out, r);
                }
            }
            Role::Internal => {
                for zone in self.zones.iter().filter(|z| z.kind == ZoneKind::Internal) {
                    for net in &zone.networks {
                        out.push(Endpoint {
                            host: zone.name.clone(),
                            zone: zone.name.clone(),
                            net: *net,
                        });
                    }
                }
            }
            // Relative like `any`: the planner puts them on the far side of the other end.
            Role::RemoteClients | Role::MessengerClients => {}
        }
        out
    }

    /// The networks of the partners of one kind, each in its zone.
    pub fn partner_endpoints(&self, kind: PartnerKind) -> Vec<Endpoint> {
        let mut out = Vec::new();
        for p in self.partners.iter().filter(|p| p.kind == kind) {
            for net in &p.networks {
                out.push(Endpoint {
                    host: p.name.clone(),
                    zone: self.zone_of_net(net).unwrap_or_default(),
                    net: *net,
                });
            }
        }
        out
    }

    /// Whether any external service address of an Edge pool is the private side of a static NAT.
    pub fn pool_is_natted(&self, pool: &Pool) -> bool {
        pool.role == ServerRole::Edge
            && pool.servers.iter().any(|s| {
                s.interface(Leg::External)
                    .is_some_and(|i| i.addresses.iter().any(|a| self.nat_of(a.ip).is_some()))
            })
    }

    /// The static NAT entry (and its firewall) that publishes a private address.
    pub fn nat_of(&self, private: IpAddr) -> Option<(&Firewall, &StaticNat)> {
        self.firewalls
            .iter()
            .find_map(|f| f.nat.iter().find(|n| n.private == private).map(|n| (f, n)))
    }

    /// The server (and its interface) that owns an address.
    pub fn owner_of(&self, ip: IpAddr) -> Option<(&Server, &Interface)> {
        self.servers().find_map(|(_, s)| {
            s.interfaces
                .iter()
                .find(|i| i.addresses.iter().any(|a| a.ip == ip))
                .map(|i| (s, i))
        })
    }

    /// The firewall interface on the private side of a NAT entry: the one facing the server's zone.
    pub fn nat_inside_interface<'a>(&self, fw: &'a Firewall, nat: &StaticNat) -> Option<&'a str> {
        let (_, iface) = self.owner_of(nat.private)?;
        fw.interfaces
            .iter()
            .find(|i| i.zone == iface.zone && i.name != nat.interface)
            .map(|i| i.name.as_str())
    }

    /// "edge01 av" for a NAT'd service address, the server name for a host address.
    pub fn address_label(&self, ip: IpAddr) -> String {
        match self.owner_of(ip) {
            Some((server, iface)) => {
                match iface.addresses.iter().find(|a| a.ip == ip).map(|a| a.usage) {
                    Some(AddressUse::Access) => format!("{} access", server.name),
                    Some(AddressUse::Webconf) => format!("{} webconf", server.name),
                    Some(AddressUse::Av) => format!("{} av", server.name),
                    _ => server.name.clone(),
                }
            }
            None => ip.to_string(),
        }
    }

    /// The most specific zone holding a network.
    pub fn zone_of_net(&self, net: &IpNet) -> Option<String> {
        self.zones
            .iter()
            .filter(|z| z.networks.iter().any(|n| n.contains(net)))
            .max_by_key(|z| {
                z.networks
                    .iter()
                    .filter(|n| n.contains(net))
                    .map(|n| n.prefix_len())
                    .max()
            })
            .map(|z| z.name.clone())
    }

    fn push_servers(&self, out: &mut Vec<Endpoint>, role: ServerRole) {
        for pool in self.pools_of(role) {
            push_pool_servers(out, pool);
        }
    }

    fn push_vips(&self, out: &mut Vec<Endpoint>, role: ServerRole, service: VipService) {
        for pool in self.pools_of(role) {
            push_pool_vips(out, pool, service);
        }
    }

    fn push_interface(
        &self,
        out: &mut Vec<Endpoint>,
        role: ServerRole,
        leg: Leg,
        usage: AddressUse,
    ) {
        for pool in self.pools_of(role) {
            for server in &pool.servers {
                if let Some(iface) = server.interface(leg) {
                    for ip in iface.ips(usage) {
                        out.push(Endpoint {
                            host: server.name.clone(),
                            zone: iface.zone.clone(),
                            net: IpNet::from(ip),
                        });
                    }
                }
            }
        }
    }
}

/// The partner kind whose listed networks stand for the `any` end of a catalog row: XMPP partners
/// on the XMPP rows of the Access Edge, since the XMPP proxy federates only with the partners
/// configured on it. SIP and public IM partners have roles of their own in the catalog
/// (`federated-partner`, `public-im-partner`), so their rows name them directly.
pub fn partner_kind_for_any(row: &crate::catalog::Row) -> Option<PartnerKind> {
    let access = |r: Role| matches!(r, Role::EdgeAccessVip | Role::EdgeAccessPublic);
    let any_end = (row.source == Role::Any && access(row.destination))
        || (row.destination == Role::Any && access(row.source));
    (row.condition == Some(Feature::Xmpp) && any_end).then_some(PartnerKind::Xmpp)
}

fn push_pool_servers(out: &mut Vec<Endpoint>, pool: &Pool) {
    for server in &pool.servers {
        for iface in &server.interfaces {
            for ip in iface.ips(AddressUse::Host) {
                out.push(Endpoint {
                    host: server.name.clone(),
                    zone: iface.zone.clone(),
                    net: IpNet::from(ip),
                });
            }
        }
    }
}

fn push_pool_vips(out: &mut Vec<Endpoint>, pool: &Pool, service: VipService) {
    for vip in pool.vips.iter().filter(|v| v.service == service) {
        for ip in &vip.addresses {
            out.push(Endpoint {
                host: format!("{}/{}-vip", pool.name, service.as_str()),
                zone: vip.zone.clone(),
                net: IpNet::from(*ip),
            });
        }
    }
}
