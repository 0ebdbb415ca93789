//! keepalived / Linux Virtual Server for sites that run LVS as the Edge pool's load balancer: VRRP
//! holds the VIPs, one `virtual_server` per VIP and planned port, health checks on every real server.
//!
//! Every VIP, A/V included, uses LVS NAT forwarding (`lb_kind NAT`). The Lync Server 2013 and Skype
//! for Business load balancing pages both rule out direct server return, so direct routing (`DR`,
//! which this renderer used to write for A/V) is no choice. LVS NAT rewrites only the destination
//! (VIP -> real server) and leaves the client's source address alone, which is what the A/V VIP
//! needs (no SNAT); the replies must come back through the load balancer, which the hardware
//! balanced Edge design gives by making the load balancer the Edge servers' default gateway.

use super::contract::{
    EDGE_POOL_SCOPE, NO_BALANCED_EDGE_POOL, Piece, RenderError, Renderer, Subject, Unit, banner,
    is_balanced_edge_pool, services_towards,
};
use crate::catalog::Transport;
use crate::plan::Plan;
use crate::topology::{Leg, Pool, Topology, VipService};
use std::fmt::Write;

pub struct Keepalived;

fn prefix_len(t: &Topology, zone: &str, ip: &std::net::IpAddr) -> u8 {
    t.zone(zone)
        .and_then(|z| {
            z.networks
                .iter()
                .filter(|n| n.contains(ip))
                .map(|n| n.prefix_len())
                .max()
        })
        .unwrap_or(if ip.is_ipv4() { 32 } else { 128 })
}

pub fn config(plan: &Plan, t: &Topology, pool: &Pool) -> String {
    let mut s = banner(
        "#",
        &format!(
            "LVS load balancer for Edge pool `{}` (keepalived)",
            pool.name
        ),
        plan,
        t,
    );
    s.push_str("# Interfaces eth0 (external side) and eth1 (internal side): change them to the load balancer's.\n");
    let _ = writeln!(
        s,
        "global_defs {{\n\trouter_id portplan_{}\n}}\n",
        pool.name.replace('-', "_")
    );
    // one VRRP instance per side and address family (keepalived does not mix families)
    let sides = [(Leg::External, "eth0"), (Leg::Internal, "eth1")];
    let mut router_id = 51;
    for (side, iface) in sides {
        for (family, ipv4) in [("v4", true), ("v6", false)] {
            let vips: Vec<String> = pool
                .vips
                .iter()
                .filter(|v| v.service.leg() == side)
                .flat_map(|v| {
                    v.addresses
                        .iter()
                        .filter(move |a| a.is_ipv4() == ipv4)
                        .map(move |a| format!("{a}/{}", prefix_len(t, &v.zone, a)))
                })
                .collect();
            if vips.is_empty() {
                continue;
            }
            let _ = writeln!(
                s,
                "vrrp_instance {}_{}_{family} {{\n\tstate MASTER\n\tinterface {iface}\n\tvirtual_router_id {router_id}\n\tpriority 100\n\tadvert_int 1\n\tvirtual_ipaddress {{\n\t\t{}\n\t}}\n}}\n",
                pool.name.replace('-', "_"),
                side.as_str(),
                vips.join("\n\t\t")
            );
            router_id += 1;
        }
    }
    for vip in &pool.vips {
        let services = services_towards(plan, &vip.addresses);
        // NAT for every VIP: see the module docs (no direct server return, no SNAT)
        let kind = "NAT";
        for vaddr in &vip.addresses {
            let backends = pool.backends(vip, vaddr.is_ipv4());
            for (transport, ports) in &services {
                if !ports.is_single() {
                    continue;
                }
                let port = ports.start;
                let proto = if *transport == Transport::Tcp {
                    "TCP"
                } else {
                    "UDP"
                };
                let _ = writeln!(
                    s,
                    "# {} {} VIP: {}\nvirtual_server {vaddr} {port} {{\n\tdelay_loop 5\n\tlb_algo {}\n\tlb_kind {kind}\n\tprotocol {proto}\n\tpersistence_timeout 300",
                    pool.name,
                    vip.service.as_str(),
                    if vip.service == VipService::Internal {
                        "NAT (destination only; replies must return through this load balancer)"
                    } else {
                        "NAT (destination only, the client's source address is kept; replies return through this load balancer, the Edge servers' default gateway)"
                    },
                    if vip.service == VipService::Av {
                        "sh"
                    } else {
                        "wlc"
                    },
                );
                for (name, ip) in &backends {
                    let check = if *transport == Transport::Tcp {
                        format!(
                            "\t\tTCP_CHECK {{\n\t\t\tconnect_port {port}\n\t\t\tconnect_timeout 3\n\t\t}}\n"
                        )
                    } else {
                        format!(
                            "\t\tUDP_CHECK {{\n\t\t\tconnect_port {port}\n\t\t\tconnect_timeout 3\n\t\t}}\n"
                        )
                    };
                    let _ = write!(
                        s,
                        "\treal_server {ip} {port} {{\n\t\tweight 1\n\t\t# {name}\n{check}\t}}\n"
                    );
                }
                s.push_str("}\n\n");
            }
        }
    }
    s
}

impl Renderer for Keepalived {
    fn name(&self) -> &'static str {
        "keepalived"
    }
    fn units(&self) -> &'static [Unit] {
        &[Unit::Pool]
    }
    fn needs_clean_lint(&self) -> bool {
        true
    }
    fn scope_hint(&self) -> &'static str {
        EDGE_POOL_SCOPE
    }
    fn nothing_because(&self) -> &'static str {
        NO_BALANCED_EDGE_POOL
    }
    fn configures_pool(&self, pool: &Pool) -> bool {
        is_balanced_edge_pool(pool)
    }
    fn suffix(&self, _unit: Unit) -> &'static str {
        ".keepalived.conf"
    }
    fn render(
        &self,
        plan: &Plan,
        t: &Topology,
        subject: &Subject<'_>,
        _selected: &[Subject<'_>],
    ) -> Result<Vec<Piece>, RenderError> {
        Ok(match subject {
            Subject::Pool(pool) => vec![Piece::main(config(plan, t, pool))],
            _ => Vec::new(),
        })
    }
}
