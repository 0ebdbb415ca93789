//! Which addresses a pool stands for at one end of one row.
//!
//! Several catalog roles name a pool "or" its load balancer VIP, because the documents list the
//! alternatives ("Front End Server, Front End pool VIP, Director or Director pool VIP"):
//! `director.pool`, `front-end.pool`, `front-end.cms`, `web-pools`, `web-pools-and-owa` and
//! `office-web-apps`. A deployment uses one of them for a given kind of traffic, so opening both
//! makes the plan wider than the design and disagree with the tables that name the address
//! precisely (the Director tables say "Director HLB VIP" for the very traffic the reverse proxy
//! table calls "Director or Director pool VIP"). This module decides, per pool of such a role:
//!
//! | end and traffic of the row | addresses |
//! |---|---|
//! | source (any traffic) | the servers: connections are opened by the servers, a VIP only answers |
//! | destination, web services (TCP 80, 443, 8080, 4443) | the pool VIP when the pool has one and is load balanced (`hlb`, `dns-hlb`, `dns`); the servers otherwise |
//! | destination, any other port | every server; and also the pool VIP when the pool is hardware balanced (`hlb`) and the catalog's `internal-servers/hlb-only` table lists the port for that pool's VIP |
//!
//! Why each line:
//! - Web: the port tables of the DNS-balanced designs keep exactly these ports on the load
//!   balancer VIP ("web services stay on the HLB"), and the Director tables send the reverse
//!   proxy's 8080/4443 and the clients' 80/443 to the HLB VIP only. Without a VIP (a single server,
//!   or a pool the topology balances by DNS alone) there is nothing but the servers to reach. A
//!   VIP without an address of one family carries none of that family: the servers are not opened
//!   in its place, since the published names lead to the VIP.
//! - Other ports keep every server: DNS balanced SIP goes to the servers themselves; with a SIP load
//!   balancer the first connection goes to the VIP but a dialog then continues with the server that
//!   handles it (the Edge's internal side reaches each Front End server); server-to-server HTTPS
//!   444 is "between the Director and the Front End Servers"; the Master Replicator's SMB 445
//!   reaches the server that holds the store. The VIP is added only for the ports the load
//!   balancer table says it takes (SIP 5061, HTTPS 444, …), so 445 is never sent to a VIP.
//!
//! Roles that name one kind of address (`director`, `director.vip`, `front-end`, `front-end.vip`,
//! the Edge roles, …) are taken as written: the tables say exactly which address they mean, and
//! health monitoring or the load balancer's own traffic to the servers uses those roles.
//! Both ends of a row are resolved the same way in every table, so two tables describing the same
//! traffic give the same addresses (and the rules then merge, see `rules_from_flows`).

use crate::catalog::{Catalog, Role, Row, ServerRole, Transport};
use crate::topology::{Endpoint, LoadBalancing, Pool, Topology, VipService};
use ipnet::IpNet;

/// Which end of a row a role is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    Source,
    Destination,
}

/// Ports the load balancer VIP of a pool carries for its web services in every balanced design.
const WEB_PORTS: [u16; 4] = [80, 443, 8080, 4443];

fn is_web(row: &Row) -> bool {
    row.transport == Transport::Tcp && row.ports.is_single() && WEB_PORTS.contains(&row.ports.start)
}

/// Whether the catalog's load balancer table lists the row's port for the VIP of a hardware
/// balanced pool of this role (Front End or Director pool).
fn vip_takes(catalog: &Catalog, pool: ServerRole, row: &Row) -> bool {
    let vip = match pool {
        ServerRole::FrontEnd => Role::FrontEndVip,
        ServerRole::Director => Role::DirectorVip,
        _ => return false,
    };
    catalog.rows.iter().any(|r| {
        r.scenario == "internal-servers"
            && r.table == "hlb-only"
            && r.destination == vip
            && r.transport == row.transport
            && r.ports.start <= row.ports.start
            && row.ports.end <= r.ports.end
    })
}

/// The pools a server-or-VIP role stands for, in the order the topology resolves them; `None` for
/// roles that name one kind of address.
fn pools_of_role(topology: &Topology, role: Role) -> Option<Vec<&Pool>> {
    let of = |r: ServerRole| topology.pools_of(r).collect::<Vec<_>>();
    Some(match role {
        Role::DirectorPool => of(ServerRole::Director),
        Role::FrontEndPool => of(ServerRole::FrontEnd),
        Role::FrontEndCms => of(ServerRole::FrontEnd)
            .into_iter()
            .filter(|p| p.cms)
            .collect(),
        Role::WebPools => [of(ServerRole::FrontEnd), of(ServerRole::Director)].concat(),
        Role::WebPoolsAndOwa => [
            of(ServerRole::FrontEnd),
            of(ServerRole::Director),
            of(ServerRole::OfficeWebApps),
        ]
        .concat(),
        Role::OfficeWebApps => of(ServerRole::OfficeWebApps),
        _ => return None,
    })
}

fn servers(pool: &Pool, out: &mut Vec<Endpoint>) {
    for server in &pool.servers {
        for iface in &server.interfaces {
            for ip in iface.ips(crate::topology::AddressUse::Host) {
                out.push(Endpoint {
                    host: server.name.clone(),
                    zone: iface.zone.clone(),
                    net: IpNet::from(ip),
                });
            }
        }
    }
}

/// The pool VIP's addresses, named as the topology names VIP endpoints (`pool/pool-vip`).
fn vip(pool: &Pool, out: &mut Vec<Endpoint>) -> bool {
    let mut any = false;
    for vip in pool.vips.iter().filter(|v| v.service == VipService::Pool) {
        for ip in &vip.addresses {
            any = true;
            out.push(Endpoint {
                host: format!("{}/{}-vip", pool.name, VipService::Pool.as_str()),
                zone: vip.zone.clone(),
                net: IpNet::from(*ip),
            });
        }
    }
    any
}

/// The label the resolved addresses go by. Renderers name address groups by label and zone, so one
/// label must always stand for the same addresses: a pool resolved to its servers alone is named
/// after the servers' own role (`front-end.pool` -> `front-end`, `director.pool` -> `director`),
/// the other resolutions keep the catalog role (a test over every example checks that a label
/// never stands for two address sets in one zone).
fn servers_label(role: Role) -> Role {
    match role {
        Role::FrontEndPool => Role::FrontEnd,
        Role::DirectorPool => Role::Director,
        other => other,
    }
}

/// The Edge VIP role standing for `role` (an Edge server's public address) on the hybrid rows of
/// a hardware balanced Edge pool. The hybrid page names "the Access Edge" without saying which
/// address; behind hardware load balancers the version's own HLB tables say it: when the
/// external VIP table lists the row's port for the VIP on the same end and the external interface
/// table does not list it for the servers (Access Edge SIP 5061, in and out), the traffic is the
/// VIP's. Where both tables list the port (A/V 3478/udp, 443/tcp) the servers stay as written.
fn hybrid_edge_vip(
    topology: &Topology,
    catalog: &Catalog,
    row: &Row,
    role: Role,
    end: End,
) -> Option<Role> {
    let vip = match role {
        Role::EdgeAccessPublic => Role::EdgeAccessVip,
        Role::EdgeWebconfPublic => Role::EdgeWebconfVip,
        Role::EdgeAvPublic => Role::EdgeAvVip,
        _ => return None,
    };
    if row.scenario != HYBRID_SCENARIO {
        return None;
    }
    let mut edges = topology.pools_of(ServerRole::Edge).peekable();
    edges.peek()?;
    if !edges.all(|p| p.load_balancing == LoadBalancing::Hlb && p.vip(vip_service(vip)).is_some()) {
        return None;
    }
    let hlb = catalog.scenario_for(HLB_EDGE_SLOT, topology.version)?;
    let lists = |table: &str, who: Role| {
        catalog.rows.iter().any(|r| {
            r.scenario == hlb.id
                && r.table == table
                && r.applies_to(topology.version, hlb)
                && r.transport == row.transport
                && r.ports.start <= row.ports.start
                && row.ports.end <= r.ports.end
                && match end {
                    End::Source => r.source == who,
                    End::Destination => r.destination == who,
                }
        })
    };
    (lists("external-vip", vip) && !lists("external-interface", role)).then_some(vip)
}

/// The catalog scenario whose rows hybrid with Microsoft 365 adds.
const HYBRID_SCENARIO: &str = "hybrid";
/// The slot of the hardware balanced Edge pool's tables (one scenario per version fills it).
const HLB_EDGE_SLOT: &str = "edge-consolidated-hlb";

fn vip_service(vip: Role) -> VipService {
    match vip {
        Role::EdgeWebconfVip => VipService::Webconf,
        Role::EdgeAvVip => VipService::Av,
        _ => VipService::Access,
    }
}

/// The addresses `role` stands for at `end` of `row`, and the role they are labelled with.
pub(super) fn endpoints(
    topology: &Topology,
    catalog: &Catalog,
    row: &Row,
    role: Role,
    end: End,
) -> (Role, Vec<Endpoint>) {
    if let Some(vip) = hybrid_edge_vip(topology, catalog, row, role, end) {
        return (vip, topology.endpoints(vip));
    }
    let Some(pools) = pools_of_role(topology, role) else {
        return (role, topology.endpoints(role));
    };
    let mut out = Vec::new();
    if end == End::Source {
        for pool in pools {
            servers(pool, &mut out);
        }
        return (servers_label(role), out);
    }
    if is_web(row) {
        for pool in pools {
            let balanced = pool.load_balancing != LoadBalancing::None;
            if !(balanced && vip(pool, &mut out)) {
                servers(pool, &mut out);
            }
        }
        return (role, out);
    }
    let mut with_vip = false;
    for pool in pools {
        servers(pool, &mut out);
        if pool.load_balancing == LoadBalancing::Hlb && vip_takes(catalog, pool.role, row) {
            with_vip |= vip(pool, &mut out);
        }
    }
    let label = if with_vip { role } else { servers_label(role) };
    (label, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    fn row(scenario: &str, table: &str, port: u16) -> &'static Row {
        Catalog::builtin()
            .rows
            .iter()
            .find(|r| r.scenario == scenario && r.table == table && r.ports.start == port)
            .unwrap()
    }

    fn hosts((_, e): (Role, Vec<Endpoint>)) -> Vec<String> {
        e.iter().map(|e| e.host.clone()).collect()
    }

    #[test]
    fn web_traffic_to_a_balanced_pool_goes_to_its_vip_only() {
        let t = Topology::reference();
        let rp = row("reverse-proxy", "internal-interface", 4443);
        let got = hosts(endpoints(
            &t,
            Catalog::builtin(),
            rp,
            Role::WebPools,
            End::Destination,
        ));
        assert_eq!(got, ["fepool/pool-vip", "dirpool/pool-vip"]);
    }

    #[test]
    fn inter_server_https_reaches_each_front_end_server_and_the_vip_the_hlb_table_names() {
        let t = Topology::reference();
        let r = row("director-pool-hlb", "director", 444);
        let got = hosts(endpoints(
            &t,
            Catalog::builtin(),
            r,
            Role::FrontEndPool,
            End::Destination,
        ));
        assert_eq!(got, ["fe01", "fe02", "fe03", "fepool/pool-vip"]);
        // SMB to the store's servers: not a port the load balancer takes
        let smb = row("internal-servers", "server-ports", 445);
        let got = hosts(endpoints(
            &t,
            Catalog::builtin(),
            smb,
            Role::FrontEndCms,
            End::Destination,
        ));
        assert_eq!(got, ["fe01", "fe02", "fe03"]);
    }

    #[test]
    fn sip_to_a_hardware_balanced_pool_reaches_servers_and_vip() {
        let t = Topology::reference();
        let r = Catalog::builtin()
            .rows
            .iter()
            .find(|r| {
                r.table == "internal-vip"
                    && r.ports.start == 5061
                    && r.source == Role::EdgeInternalVip
            })
            .unwrap();
        let got = hosts(endpoints(
            &t,
            Catalog::builtin(),
            r,
            Role::FrontEndPool,
            End::Destination,
        ));
        assert_eq!(got, ["fe01", "fe02", "fe03", "fepool/pool-vip"]);
        // as a source the pool is its servers
        let got = hosts(endpoints(
            &t,
            Catalog::builtin(),
            r,
            Role::FrontEndPool,
            End::Source,
        ));
        assert_eq!(got, ["fe01", "fe02", "fe03"]);
    }

    #[test]
    fn roles_of_one_kind_of_address_are_taken_as_written() {
        let t = Topology::reference();
        let r = row("director-pool-hlb", "director", 50001);
        assert_eq!(
            endpoints(&t, Catalog::builtin(), r, Role::Director, End::Destination),
            (Role::Director, t.endpoints(Role::Director))
        );
        // a pool resolved to its servers goes by the servers' role
        assert_eq!(
            endpoints(&t, Catalog::builtin(), r, Role::FrontEndPool, End::Source).0,
            Role::FrontEnd
        );
    }
}
