//! The Edge pool's hardware load balancer as a Linux L4 load balancer in nftables: each VIP and
//! planned port is DNATed to the real servers (round robin with `numgen`, or by client address with
//! `jhash` for A/V so a client stays on one A/V Edge); conntrack keeps each connection on its
//! server. Access and Web Conferencing VIPs with SNAT on rewrite the source to the VIP, so replies
//! come back through the load balancer; the A/V VIP never does — A/V must see the client's address.

use super::contract::{
    EDGE_POOL_SCOPE, NO_BALANCED_EDGE_POOL, Piece, RenderError, Renderer, Subject, Unit, banner,
    is_balanced_edge_pool, services_towards,
};
use crate::catalog::Transport;
use crate::plan::Plan;
use crate::topology::{Pool, Topology, VipService};
use std::fmt::Write;

pub struct NftablesLb;

fn ports_text(ports: &[String]) -> String {
    if ports.len() == 1 {
        ports[0].clone()
    } else {
        format!("{{ {} }}", ports.join(", "))
    }
}

pub fn ruleset(plan: &Plan, t: &Topology, pool: &Pool) -> String {
    let mut s = String::from("#!/usr/sbin/nft -f\n");
    s.push_str(&banner(
        "#",
        &format!("load balancer for Edge pool `{}` (nftables)", pool.name),
        plan,
        t,
    ));
    s.push_str(
        "# The VIPs must be local addresses of this machine; it routes to the real servers.\n\n",
    );
    s.push_str(
        "table inet portplan_lb\ndelete table inet portplan_lb\n\ntable inet portplan_lb {\n",
    );
    let mut pre = String::new();
    let mut post = String::new();
    for vip in &pool.vips {
        let services = services_towards(plan, &vip.addresses);
        for ipv4 in [true, false] {
            let (fam, daddr) = if ipv4 {
                ("ip", "ip daddr")
            } else {
                ("ip6", "ip6 daddr")
            };
            let Some(vaddr) = vip.addresses.iter().find(|a| a.is_ipv4() == ipv4) else {
                continue;
            };
            let backends = pool.backends(vip, ipv4);
            if backends.is_empty() {
                continue;
            }
            let map: Vec<String> = backends
                .iter()
                .enumerate()
                .map(|(i, (_, ip))| format!("{i} : {ip}"))
                .collect();
            // A/V: stick a client to one server; others: spread connections
            let pick = if vip.service == VipService::Av {
                format!("jhash {fam} saddr mod {}", backends.len())
            } else {
                format!("numgen inc mod {}", backends.len())
            };
            for transport in [Transport::Tcp, Transport::Udp] {
                let ports: Vec<String> = services
                    .iter()
                    .filter(|(tr, _)| *tr == transport)
                    .map(|(_, p)| p.to_string())
                    .collect();
                if ports.is_empty() {
                    continue;
                }
                let servers: Vec<&str> = backends.iter().map(|(n, _)| n.as_str()).collect();
                let comment = clip(
                    format!(
                        "{} {} VIP -> {}",
                        pool.name,
                        vip.service.as_str(),
                        servers.join(" ")
                    ),
                    COMMENT_MAX,
                );
                let _ = writeln!(
                    pre,
                    "\t\t{daddr} {vaddr} {transport} dport {} dnat {fam} to {pick} map {{ {} }} comment \"{comment}\"",
                    ports_text(&ports),
                    map.join(", "),
                );
            }
            if vip.snat && vip.service != VipService::Av {
                let comment = clip(
                    format!("{} {} VIP: SNAT allowed", pool.name, vip.service.as_str()),
                    COMMENT_MAX,
                );
                let _ = writeln!(
                    post,
                    "\t\tct original {daddr} {vaddr} snat {fam} to {vaddr} comment \"{comment}\""
                );
            } else if vip.service == VipService::Av {
                let _ = writeln!(
                    post,
                    "\t\t# {} av VIP {vaddr}: no SNAT, the A/V Edge must see the client's address",
                    pool.name
                );
            }
        }
    }
    s.push_str(
        "\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n",
    );
    s.push_str(&pre);
    s.push_str("\t}\n\n\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n");
    s.push_str(&post);
    s.push_str("\t}\n}\n");
    s
}

impl Renderer for NftablesLb {
    fn name(&self) -> &'static str {
        "nftables-lb"
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
        "-lb.nft"
    }
    fn render(
        &self,
        plan: &Plan,
        t: &Topology,
        subject: &Subject<'_>,
        _selected: &[Subject<'_>],
    ) -> Result<Vec<Piece>, RenderError> {
        Ok(match subject {
            Subject::Pool(pool) => vec![Piece::main(ruleset(plan, t, pool))],
            _ => Vec::new(),
        })
    }
}

/// nft refuses rule comments longer than 128 bytes: long pool and server names are cut (ending in `...`).
const COMMENT_MAX: usize = 127;

fn clip(mut text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut end = max - 3;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push_str("...");
    text
}
